/**
 * A bencoded dictionary. Keys are raw bytes held as binary strings (one char
 * per byte, codes 0..255), so any key survives and sorting by `<` sorts by bytes.
 */
export type BencodeDict = Map<string, BencodeValue>;

/**
 * Any bencode value: byte strings are `Uint8Array`, integers are `number` when
 * they are safe integers and `bigint` beyond 2^53, lists are arrays.
 */
export type BencodeValue =
  | Uint8Array
  | number
  | bigint
  | BencodeValue[]
  | BencodeDict;

/** The byte span `[start, end)` one value occupied in its source bytes. */
export interface BencodeSpan {
  /** Offset of the value's first byte. */
  start: number;
  /** Offset just past the value's last byte. */
  end: number;
}
