declare module '*.json.gz' {
  const bytes: ArrayBuffer;
  export default bytes;
}
