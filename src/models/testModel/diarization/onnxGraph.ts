// A small builder for the ONNX graphs the test models generate: nodes named in order, weights kept as initializers,
// and seeded normal weights from the test models' own generator (one stream per tensor name).

import { F32 } from "../ggmlFile.js";
import { fillNormal, Xoshiro128 } from "../random.js";
import type { OnnxAttribute, OnnxModel, OnnxNode, OnnxTensorData, OnnxValueInfo } from "../../onnx/onnxWriter.js";

export class OnnxGraph {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensorData[] = [];
  private count = 0;

  constructor(private readonly seed: number) {}

  /** A float32 initializer named `name`. */
  weight(name: string, dims: number[], values: Float32Array): string {
    this.initializers.push({ name, dims, float32: values });
    return name;
  }

  /** A float32 initializer of N(0, std²) values, seeded by the model's seed and `name`. */
  normal(name: string, dims: number[], std: number): string {
    const values = new Float32Array(dims.reduce((a, b) => a * b, 1));
    fillNormal(new Xoshiro128(this.seed, name), F32, std, values);
    return this.weight(name, dims, values);
  }

  /** A float32 initializer of one value repeated. */
  filled(name: string, dims: number[], value: number): string {
    return this.weight(name, dims, new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(value));
  }

  /** An int64 initializer (shapes, axes). */
  ints(name: string, values: readonly number[]): string {
    this.initializers.push({ name, dims: [values.length], int64: values });
    return name;
  }

  /** Adds a node with one output and returns the output's name. */
  op(opType: string, inputs: readonly string[], attributes?: Record<string, OnnxAttribute>, output?: string): string {
    const name = output ?? `${opType.toLowerCase()}_${this.count}`;
    this.count++;
    this.nodes.push({ opType, inputs, outputs: [name], name: `${opType}_${this.count}`, ...(attributes ? { attributes } : {}) });
    return name;
  }

  /** Adds a node with several outputs. */
  multi(opType: string, inputs: readonly string[], outputs: readonly string[], attributes?: Record<string, OnnxAttribute>): void {
    this.count++;
    this.nodes.push({ opType, inputs, outputs, name: `${opType}_${this.count}`, ...(attributes ? { attributes } : {}) });
  }

  model(parts: {
    irVersion: number;
    opset: number;
    producerName: string;
    graphName: string;
    inputs: OnnxValueInfo[];
    outputs: OnnxValueInfo[];
    metadata: Record<string, string>;
  }): OnnxModel {
    return { ...parts, nodes: this.nodes, initializers: this.initializers };
  }
}
