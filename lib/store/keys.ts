/** Bucket layout (DESIGN.md "Bucket layout"). */
export const modelKey = (sha256: string): string => `models/${sha256}.onnx`;
export const versionKey = (name: string, version: number): string => `ensembles/${name}/versions/${version}.json`;
export const pointerKey = (name: string): string => `ensembles/${name}/current.json`;

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}
