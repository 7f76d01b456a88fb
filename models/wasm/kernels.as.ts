// AssemblyScript entry of reel's one WebAssembly module (see package.json "build"): every
// hot loop of models/ lives in a file of this folder and is exported from here, so that one
// `dist/models/wasm/kernels.wasm` holds them all. Each loader in models/ owns its memory layout.

export * from './mf.as';
export * from './svdpp.as';
export * from './als.as';
export * from './bpr.as';
export * from './score.as';
export * from './spmm.as';
