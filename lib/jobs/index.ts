export { SIGNATURE_HEADER, type SignatureCheck, signRequest, verifyRequest } from './signing';
