// Runs a TF.js graph model (model.json + shards) on one int32 NHWC input with the pure-JS
// CPU backend; prints the output as JSON. Usage: node run_tfjs.js MODEL.json INPUT.bin H W
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const tfc = require('@tensorflow/tfjs-converter');
async function main() {
  const [modelPath, inputPath, h, w] = process.argv.slice(2);
  const json = JSON.parse(fs.readFileSync(modelPath));
  const specs = [], buffers = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) buffers.push(fs.readFileSync(path.join(path.dirname(modelPath), p)));
  }
  const all = Buffer.concat(buffers);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  await tf.setBackend('cpu');
  const model = await tfc.loadGraphModel(tf.io.fromMemory({modelTopology: json.modelTopology, weightSpecs: specs, weightData}));
  const raw = fs.readFileSync(inputPath);
  const input = tf.tensor4d(new Int32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4), [1, +h, +w, 3], 'int32');
  const out = model.execute(input);
  process.stdout.write(JSON.stringify({shape: out.shape, data: Array.from(out.dataSync())}));
}
main().catch((e) => { console.error(e); process.exit(1); });
