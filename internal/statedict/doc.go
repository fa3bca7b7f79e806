// Package statedict reads named weight tensors from the files PyTorch and
// timm users have: torchvision .pth state_dicts (the zip format torch >= 1.6
// writes) and .safetensors. Every floating-point tensor comes back as a
// contiguous row-major float32 Tensor, whatever its stored dtype (float32,
// float16, bfloat16, float64), strides or storage offset.
//
// Integer and bool tensors (BatchNorm's num_batches_tracked, int64 index
// buffers) are dropped on load: nothing in the harness consumes them and
// float32 cannot hold every int64.
//
// Load refuses weights that are not finite: a NaN or Inf in a backbone
// silently poisons every anomaly score downstream, so it is reported with
// the tensor's name before any weight is used.
//
// Everything read from a file is validated before it is trusted: lengths in
// pickle opcodes, zip entries and safetensors headers are checked against
// the bytes that exist before memory is allocated for them, so a truncated
// or hostile file gives an error naming the file and the tensor, not a
// crash.
package statedict
