export { SIGNATURE_HEADER, type SignatureCheck, secretsEqual, signRequest, verifyRequest } from './signing';
