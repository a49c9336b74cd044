/**
 * Watch events whose object is converted, as kube-apiserver's watch embedded encoder does
 * (endpoints/handlers/watch.go, response.go): a one-row meta.k8s.io Table (`kubectl get -w`) or
 * a PartialObjectMetadata (metadata informers), in JSON watch lines. A view is named by a format
 * string (`table:v1:Metadata`, `metadata:v1beta1`), so watchers, dispatcher threads and the
 * snapshot pool pass it as data; the resource's printer comes as data too (`PrinterSpec`). Every
 * event is converted, BOOKMARKs included, as in kube; only ERROR Statuses pass as they are.
 *
 * A Table watch carries columnDefinitions in its first event only (kube's NoHeaders after the
 * first encode): the codec's `first` variant, whose frames are shared by the watchers whose
 * first event it is, while every later event shares the header-less frame.
 */
import type { Status } from '../status.js';
import { bookmarkObject, type BookmarkShape, type FrameCodec, type WatchEventType } from './codec.js';
import { jsonEventFrame } from './json-frame.js';
import { obj, str, type JsonObject } from './table/json.js';
import type { Printer } from './table/printer.js';
import { partialObjectMetadata, printerOf, table, type IncludeObject, type MetaVersion, type PrinterSpec } from './table/views.js';

export type TableFormat = `table:${MetaVersion}:${IncludeObject}`;
export type MetadataFormat = `metadata:${MetaVersion}`;
export type ViewFormat = TableFormat | MetadataFormat;

export type WatchView = { kind: 'table'; version: MetaVersion; include: IncludeObject } | { kind: 'metadata'; version: MetaVersion };

/** The format string of a view. */
export function viewFormat(view: WatchView): ViewFormat {
  return view.kind === 'table' ? `table:${view.version}:${view.include}` : `metadata:${view.version}`;
}

const VERSIONS: ReadonlySet<string> = new Set(['v1', 'v1beta1']);
const INCLUDES: ReadonlySet<string> = new Set(['None', 'Metadata', 'Object']);

/** The view a format string names; undefined when it names none. */
export function parseViewFormat(format: string): WatchView | undefined {
  const [kind, version = '', include = '', ...rest] = format.split(':');
  if (rest.length > 0 || !VERSIONS.has(version)) return undefined;
  if (kind === 'metadata' && include === '') return { kind, version: version as MetaVersion };
  if (kind === 'table' && INCLUDES.has(include)) return { kind, version: version as MetaVersion, include: include as IncludeObject };
  return undefined;
}

function jsonFrame(type: WatchEventType, object: unknown): Uint8Array {
  return jsonEventFrame(type, Buffer.from(JSON.stringify(object)));
}

function viewCodec(format: string, convert: (object: JsonObject) => unknown, first?: FrameCodec): FrameCodec {
  return Object.freeze<FrameCodec>({
    encoding: format,
    cachedAddedFrames: false,
    supports: () => true,
    event: (type, object) => jsonFrame(type, convert(object.decoded())),
    bookmark: (shape: BookmarkShape, revision: number, initialEventsEnd = false) =>
      jsonFrame('BOOKMARK', convert(bookmarkObject(shape, revision, initialEventsEnd))),
    error: (status: Status) => jsonFrame('ERROR', status),
    ...(first === undefined ? {} : { first }),
  });
}

function tableConverter(printer: Printer, version: MetaVersion, include: IncludeObject, headers: boolean): (object: JsonObject) => unknown {
  return (object) => {
    // A one-row table carries the object's resourceVersion, as kube's table generator.
    const rv = str(obj(object, 'metadata'), 'resourceVersion');
    return table(printer, [object], rv === '' ? {} : { resourceVersion: rv }, version, include, Date.now(), headers);
  };
}

/** Codecs by printer and format: one instance per resource and view in each thread. */
const byPrinter = new WeakMap<PrinterSpec, Map<string, FrameCodec>>();

/** The codec of a view format for a resource of `printer`. */
export function viewCodecFor(format: ViewFormat, view: WatchView, printer: PrinterSpec): FrameCodec {
  let codecs = byPrinter.get(printer);
  if (codecs === undefined) byPrinter.set(printer, (codecs = new Map()));
  let codec = codecs.get(format);
  if (codec !== undefined) return codec;
  if (view.kind === 'metadata') {
    codec = viewCodec(format, (object) => partialObjectMetadata(object, view.version));
  } else {
    const print = printerOf(printer);
    const headed = viewCodec(`${format}:headers`, tableConverter(print, view.version, view.include, true));
    codec = viewCodec(format, tableConverter(print, view.version, view.include, false), headed);
  }
  codecs.set(format, codec);
  return codec;
}
