/** Internal failures of the codec; `codec.ts` turns them into Kubernetes `Status` errors (400 / 415). */
export type ProtobufErrorCode =
  /** The bytes are not a valid encoding of the message (400). */
  | 'ERR_PROTOBUF_MALFORMED'
  /** A field this server does not model in a message it models only in part (415). */
  | 'ERR_PROTOBUF_UNSUPPORTED_FIELD';

export class ProtobufError extends Error {
  readonly code: ProtobufErrorCode;

  constructor(code: ProtobufErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ProtobufError';
    this.code = code;
  }
}

export function malformed(message: string): ProtobufError {
  return new ProtobufError('ERR_PROTOBUF_MALFORMED', message);
}
