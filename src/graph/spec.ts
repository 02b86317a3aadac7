/**
 * The plain-data description of a model that the channel analysis works on:
 * layers with their class, config, inbound tensors, output shapes and weight
 * shapes. JSON-serialisable; built from a tfjs model by {@link describeModel}
 * or written by hand in tests.
 */

/** A reference to one output tensor of a layer (node 0 of the layer). */
export interface TensorRef {
  /** Producing layer. */
  readonly layer: string;
  /** Output index of that layer (0 for single-output layers). */
  readonly tensor: number;
}

/** One weight of a layer. */
export interface WeightSpec {
  /** Short name within the layer: `kernel`, `bias`, `gamma`, `depthwise_kernel`, ... */
  readonly name: string;
  /** Name of the backing `tf.Variable` (the key of gradients and masks), e.g. `stem_conv/kernel`. */
  readonly variable: string;
  /** Shape of the weight. */
  readonly shape: readonly number[];
  /** Whether the optimiser updates it (BatchNorm moving statistics are not trainable). */
  readonly trainable: boolean;
}

/** One layer of a {@link ModelSpec}. */
export interface LayerSpec {
  /** Unique layer name. */
  readonly name: string;
  /** tfjs/Keras class name, e.g. `Conv2D`. */
  readonly className: string;
  /** The layer's config as in the model JSON (snake_case keys). */
  readonly config: Readonly<Record<string, unknown>>;
  /** Input tensors of the layer's first call (empty for an `InputLayer`). */
  readonly inbound: readonly TensorRef[];
  /** Number of times the layer is called in the model (more than 1 = a shared layer). */
  readonly calls: number;
  /** Output shapes without the batch dimension, one per output tensor. */
  readonly outputShapes: readonly (readonly number[])[];
  /** Weights in the layer's own order. */
  readonly weights: readonly WeightSpec[];
}

/** A model as plain data. Layers are listed so that every layer comes after its inputs. */
export interface ModelSpec {
  /** Model name (for messages). */
  readonly name: string;
  /** Layers in topological order. */
  readonly layers: readonly LayerSpec[];
  /** Model input tensors. */
  readonly inputs: readonly TensorRef[];
  /** Model output tensors. */
  readonly outputs: readonly TensorRef[];
}
