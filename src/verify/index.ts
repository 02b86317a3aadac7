/**
 * FPS verification of ONNX models with ONNX Runtime.
 * @packageDocumentation
 */
export { type VerifyOptions, type VerifyResult, verifyOnnx, verifyOptionsSchema, verifyVerdict, VERIFY_FLAGS } from './verify.js';
