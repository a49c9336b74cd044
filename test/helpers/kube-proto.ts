/**
 * The independent protobuf reader of the tests: protobufjs over messages declared here from the
 * published generated.proto files of k8s.io/apimachinery (never from src/encode/protobuf), so a
 * test decodes what the server encodes without sharing its codec. A test adds the kinds it reads.
 */
import protobuf from 'protobufjs';

/** WatchEvent, RawExtension and the runtime.Unknown envelope (after the 4-byte magic), in package k8s. */
const ENVELOPE = `
message RawExtension { optional bytes raw = 1; }
message WatchEvent { optional string type = 1; optional RawExtension object = 2; }
message TypeMeta { optional string apiVersion = 1; optional string kind = 2; }
message Unknown { optional TypeMeta typeMeta = 1; optional bytes raw = 2; optional string contentEncoding = 3; optional string contentType = 4; }
`;

/** A protobufjs root of package k8s: the envelope messages plus `messages` (proto2 declarations). */
export function kubeProto(messages: string): protobuf.Root {
  return protobuf.parse(`syntax = "proto2";\npackage k8s;\n${ENVELOPE}${messages}`).root;
}
