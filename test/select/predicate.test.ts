import { describe, expect, it } from 'vitest';
import { EVERYTHING_FIELDS, parseFieldSelector } from '../../src/select/field-selector.js';
import { POD_SELECTABLE_FIELDS } from '../../src/server/registry.js';
import { EVERYTHING_LABELS, parseLabelSelector } from '../../src/select/label-selector.js';
import { AttributeReader, matches, rewrite, type Attributes, type ObjectEventType, type Predicate } from '../../src/select/predicate.js';

const reader = new AttributeReader(['spec.nodeName', 'status.phase']);

function predicate(options: { label?: string; field?: string; namespace?: string; name?: string } = {}): Predicate {
  return {
    label: options.label === undefined ? EVERYTHING_LABELS : parseLabelSelector(options.label),
    field: options.field === undefined ? EVERYTHING_FIELDS : parseFieldSelector(options.field, POD_SELECTABLE_FIELDS),
    ...(options.namespace === undefined ? {} : { namespace: options.namespace }),
    ...(options.name === undefined ? {} : { name: options.name }),
  };
}

function attrs(name: string, namespace: string, labels: Record<string, string> = {}, nodeName?: string): Attributes {
  return reader.read({
    metadata: { name, namespace, labels },
    spec: nodeName === undefined ? {} : { nodeName },
    status: { phase: 'Running' },
  });
}

describe('rewrite: the event a watcher sees for a stored change (kube-apiserver convertToWatchEvent)', () => {
  const cases: Array<[ObjectEventType, boolean, boolean, ObjectEventType | null]> = [
    ['ADDED', true, false, 'ADDED'],
    ['ADDED', false, false, null],
    ['MODIFIED', true, true, 'MODIFIED'],
    ['MODIFIED', true, false, 'ADDED'],
    ['MODIFIED', false, true, 'DELETED'],
    ['MODIFIED', false, false, null],
    ['DELETED', false, true, 'DELETED'],
    ['DELETED', false, false, null],
  ];

  it.each(cases)('%s with current=%s previous=%s is seen as %s', (stored, current, previous, expected) => {
    expect(rewrite(stored, current, previous)).toBe(expected);
  });

  it('an object that starts matching arrives as ADDED, one that stops matching as DELETED', () => {
    expect(rewrite('MODIFIED', true, false)).toBe('ADDED');
    expect(rewrite('MODIFIED', false, true)).toBe('DELETED');
  });

  it('ADDED is judged by the new object alone, DELETED by the previous one alone', () => {
    expect(rewrite('ADDED', true, true)).toBe('ADDED');
    expect(rewrite('ADDED', false, true)).toBeNull();
    expect(rewrite('DELETED', true, true)).toBe('DELETED');
    expect(rewrite('DELETED', true, false)).toBeNull();
  });
});

describe('matches: scope and selectors', () => {
  const web = attrs('web-1', 'prod', { app: 'web', tier: 'front' }, 'node-1');

  it('the empty predicate matches every object', () => {
    expect(matches(predicate(), web)).toBe(true);
    expect(matches(predicate(), attrs('x', 'other'))).toBe(true);
  });

  it('a namespace scope matches only objects of that namespace', () => {
    expect(matches(predicate({ namespace: 'prod' }), web)).toBe(true);
    expect(matches(predicate({ namespace: 'dev' }), web)).toBe(false);
  });

  it('an empty namespace scope means every namespace', () => {
    expect(matches(predicate({ namespace: '' }), web)).toBe(true);
  });

  it('a name scope matches only the object of that name, in any namespace unless scoped', () => {
    expect(matches(predicate({ name: 'web-1' }), web)).toBe(true);
    expect(matches(predicate({ name: 'web-1' }), attrs('web-1', 'dev'))).toBe(true);
    expect(matches(predicate({ name: 'web-2' }), web)).toBe(false);
    expect(matches(predicate({ name: '' }), web)).toBe(true);
  });

  it('namespace and name scopes combine', () => {
    expect(matches(predicate({ namespace: 'prod', name: 'web-1' }), web)).toBe(true);
    expect(matches(predicate({ namespace: 'dev', name: 'web-1' }), web)).toBe(false);
    expect(matches(predicate({ namespace: 'prod', name: 'web-2' }), web)).toBe(false);
  });

  it('the label selector must hold', () => {
    expect(matches(predicate({ label: 'app=web' }), web)).toBe(true);
    expect(matches(predicate({ label: 'app=web,tier=back' }), web)).toBe(false);
    expect(matches(predicate({ label: 'app!=db' }), web)).toBe(true);
  });

  it('the field selector must hold', () => {
    expect(matches(predicate({ field: 'spec.nodeName=node-1' }), web)).toBe(true);
    expect(matches(predicate({ field: 'spec.nodeName=node-2' }), web)).toBe(false);
    expect(matches(predicate({ field: 'metadata.name=web-1,metadata.namespace=prod' }), web)).toBe(true);
  });

  it('scope, labels and fields must all hold together', () => {
    const p = predicate({ namespace: 'prod', label: 'app=web', field: 'spec.nodeName=node-1' });
    expect(matches(p, web)).toBe(true);
    expect(matches(p, attrs('web-1', 'prod', { app: 'web' }, 'node-2'))).toBe(false);
    expect(matches(p, attrs('web-1', 'prod', { app: 'db' }, 'node-1'))).toBe(false);
    expect(matches(p, attrs('web-1', 'dev', { app: 'web' }, 'node-1'))).toBe(false);
  });
});

describe('AttributeReader: what predicates look at', () => {
  it('reads namespace, name, labels and the selectable fields, metadata.name and metadata.namespace always included', () => {
    const a = reader.read({ metadata: { name: 'p', namespace: 'ns', labels: { app: 'web' } }, spec: { nodeName: 'n1' }, status: { phase: 'Pending' } });
    expect(a.namespace).toBe('ns');
    expect(a.name).toBe('p');
    expect({ ...a.labels }).toEqual({ app: 'web' });
    expect({ ...a.fields }).toEqual({ 'metadata.name': 'p', 'metadata.namespace': 'ns', 'spec.nodeName': 'n1', 'status.phase': 'Pending' });
    expect(reader.fields).toEqual(['metadata.name', 'metadata.namespace', 'spec.nodeName', 'status.phase']);
  });

  it('an object without metadata has an empty name, namespace and labels; missing fields read as ""', () => {
    const a = reader.read({});
    expect(a.namespace).toBe('');
    expect(a.name).toBe('');
    expect({ ...a.labels }).toEqual({});
    expect(a.fields['spec.nodeName']).toBe('');
    expect(reader.read(null).name).toBe('');
  });

  it('label values that are not strings are ignored', () => {
    const a = reader.read({ metadata: { name: 'p', labels: { app: 'web', n: 3, o: { x: 1 }, z: null } } });
    expect({ ...a.labels }).toEqual({ app: 'web' });
  });

  it('an object whose metadata is not an object reads as having none', () => {
    const a = reader.read({ metadata: 'nope' });
    expect(a.name).toBe('');
    expect({ ...a.labels }).toEqual({});
  });

  it('duplicate selectable fields are read once', () => {
    expect(new AttributeReader(['metadata.name', 'spec.nodeName', 'spec.nodeName']).fields).toEqual([
      'metadata.name',
      'metadata.namespace',
      'spec.nodeName',
    ]);
  });
});
