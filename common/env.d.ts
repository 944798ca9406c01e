// The only host globals common/ may use: present in Node, browsers and Electron's renderer alike. Declared here,
// for common/tsconfig.json alone, so that nothing else of Node or the DOM is available to common/ code.
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  decode(input?: ArrayBufferView | ArrayBuffer): string;
}
declare function setTimeout(callback: () => void, ms?: number): unknown;
declare function clearTimeout(handle: unknown): void;
