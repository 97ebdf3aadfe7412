export { PROTOBUF_MEDIA_TYPE, decodeProtobufObject, encodeProtobufObject, protobufKinds } from './codec.js';
export { objectMetaJson } from './object-meta.js';
