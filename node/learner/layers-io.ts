/**
 * Load and save TF.js Layers models (model.json + binary weight shards) from and to a directory without
 * tfjs-node (whose file:// handler is not available on wasm/cpu). Loaded models join the swarm like zoo
 * models: their trainable weights form the layout and the loaded values are the initial vector.
 */
import * as tf from '@tensorflow/tfjs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ModelSpecError } from './errors.js';

interface ModelJson {
  modelTopology: object;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  format?: string; generatedBy?: string; convertedBy?: string | null; trainingConfig?: tf.io.TrainingConfig;
}

/** Read `<path>` (a model.json file or a directory holding one) into a LayersModel. */
export async function loadLayersModelFrom(path: string): Promise<tf.LayersModel> {
  const file = path.endsWith('.json') ? resolve(path) : join(resolve(path), 'model.json');
  let json: ModelJson;
  try {
    json = JSON.parse(await readFile(file, 'utf8')) as ModelJson;
  } catch (err) {
    throw new ModelSpecError(`cannot read the TF.js model at ${file}: ${(err as Error).message}`);
  }
  if (!json || typeof json !== 'object' || !json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new ModelSpecError(`${file} is not a TF.js Layers model.json (needs modelTopology and weightsManifest)`);
  }
  const dir = dirname(file);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      const shardPath = join(dir, p);
      try {
        const b = await readFile(shardPath);
        buffers.push(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
      } catch (err) {
        throw new ModelSpecError(`weight shard ${shardPath} of ${file} cannot be read: ${(err as Error).message}`);
      }
    }
  }
  const handler: tf.io.IOHandler = {
    load: async () => ({
      modelTopology: json.modelTopology, weightSpecs: specs, weightData: tf.io.concatenateArrayBuffers(buffers),
      format: json.format, generatedBy: json.generatedBy, convertedBy: json.convertedBy ?? null, trainingConfig: json.trainingConfig,
    }),
  };
  try {
    return await tf.loadLayersModel(handler);
  } catch (err) {
    throw new ModelSpecError(`${file} could not be loaded as a Layers model: ${(err as Error).message}`);
  }
}

/** Save `model` as `<dir>/model.json` + `<dir>/weights.bin` (written to temporary names, then renamed). */
export async function saveLayersModelTo(model: tf.LayersModel, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await model.save({
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      const data = artifacts.weightData;
      const weights = data === undefined ? new ArrayBuffer(0) : Array.isArray(data) ? tf.io.concatenateArrayBuffers(data) : data;
      const manifest = { modelTopology: artifacts.modelTopology, format: artifacts.format, generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null, weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }] };
      await writeFile(join(dir, 'weights.bin.tmp'), new Uint8Array(weights));
      await writeFile(join(dir, 'model.json.tmp'), JSON.stringify(manifest));
      await rename(join(dir, 'weights.bin.tmp'), join(dir, 'weights.bin'));
      await rename(join(dir, 'model.json.tmp'), join(dir, 'model.json'));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
    },
  });
}
