/**
 * The container's CUDA fallback is per session: a provider library that is present but cannot
 * run (no GPU, no driver) makes session creation throw, and that session runs on CPU instead.
 */
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { createNodeBackend, nodeExecutionProvider, type OrtSessionFactory } from '../../lib/backends/onnx-node';

const model = readFileSync('test/fixtures/byo/breast-cancer-mlp.onnx');
const x = { dtype: 'float32' as const, data: new Float32Array(30).fill(0.5), dims: [1, 30] };

/** onnxruntime's own factory, except that CUDA fails the way it does on a machine without a GPU. */
const noGpu: OrtSessionFactory = (bytes, providers) =>
  providers.includes('cuda')
    ? Promise.reject(new Error('CUDA failure 100: no CUDA-capable device is detected'))
    : ort.InferenceSession.create(bytes, { executionProviders: [...providers], graphOptimizationLevel: 'basic' });

describe('CUDA falls back to CPU per session', () => {
  it('a session whose CUDA creation fails runs on CPU and the backend reports cpu', async () => {
    const backend = createNodeBackend({ cuda: true, createSession: noGpu });
    expect(nodeExecutionProvider(backend)).toBe('cuda'); // configured, nothing ran yet
    const session = await backend.createSession(model);
    const out = await session.run({ x }, 'logits');
    expect(out.dims).toEqual([1, 2]);
    expect(nodeExecutionProvider(backend)).toBe('cpu'); // what actually ran
    expect(backend.name).toBe('onnxruntime-node/cpu');
    await session.release();
  });

  it('without CUDA asked for, sessions run on CPU', async () => {
    const backend = createNodeBackend({ cuda: false });
    const session = await backend.createSession(model);
    expect((await session.run({ x }, 'logits')).dims).toEqual([1, 2]);
    expect(nodeExecutionProvider(backend)).toBe('cpu');
    await session.release();
  });
});
