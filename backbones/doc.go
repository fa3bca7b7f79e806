// Package backbones holds the frozen ImageNet CNNs PaDiM and SPADE take
// patch features from: torchvision 0.14's resnet18, wide_resnet50_2 and
// efficientnet_b5, laid out module for module so that a torchvision
// state_dict loads by name with no renaming (conv1, bn1,
// layer1.0.conv1, ..., layer2.0.downsample.0/1; features.0.0,
// features.1.0.block.0.0, ..., features.2.0.block.2.fc1, ...).
//
// Every BatchNorm is folded into the convolution before it when weights are
// loaded (each with its own eps: 1e-5 in the ResNets, 1e-3 in
// EfficientNet, as torchvision builds them), so inference is one fused
// conv+activation kernel per layer from package nn. Stochastic depth is the
// identity in eval mode and is absent. The classifier heads (fc, and
// EfficientNet's features.8 and classifier) are not built.
//
// Images go in and features come out as nchw.Tensor (N x C x H x W
// float32), a public type, so a Backbone can also be implemented outside
// this module and fed to padim and spade.
//
// Load reads only the tensors up to the deepest requested layer, so a
// ResNet-18 file without layer4 and fc serves layer1..layer3, and
// Forward stops after the deepest requested layer.
//
// # Layers
//
// ResNets expose layer1..layer4. At a 224 x 224 input:
//
//	backbone          layer   channels  stride  map
//	resnet18          layer1        64       4  56x56
//	                  layer2       128       8  28x28
//	                  layer3       256      16  14x14
//	                  layer4       512      32   7x7
//	wide_resnet50_2   layer1       256       4  56x56
//	                  layer2       512       8  28x28
//	                  layer3      1024      16  14x14
//	                  layer4      2048      32   7x7
//
// EfficientNet-B5 (width 1.6, depth 2.2: 39 MBConv blocks) exposes every
// MBConv block output as block0..block38, numbered from 0 over
// features.1..features.7 in order, and stage1..stage7 for the output of
// features.1..features.7 (the same tensor as that stage's last block):
//
//	stage  torchvision  blocks          channels  stride  map at 224
//	1      features.1   block0..block2        24       2  112x112
//	2      features.2   block3..block7        40       4  56x56
//	3      features.3   block8..block12       64       8  28x28
//	4      features.4   block13..block19     128      16  14x14
//	5      features.5   block20..block26     176      16  14x14
//	6      features.6   block27..block35     304      32   7x7
//	7      features.7   block36..block38     512      32   7x7
//
// The PaDiM paper takes EfficientNet-B5 features from "layers 7 (level 2),
// 20 (level 4) and 26 (level 5)". Counting MBConv blocks from 1, those are
// the only reading under which each block lies in the stated level (the
// level being the paper's EfficientNet stage, i.e. torchvision's
// features.<level>):
//
//	paper layer  here     torchvision module  channels  stride  map at 224
//	7            block6   features.2.3              40       4  56x56
//	20           block19  features.4.6             128      16  14x14
//	26           block25  features.5.5             176      16  14x14
//
// giving 344 channels in all, the embedding size public PaDiM-EfficientNet
// reproductions report. Counting from 0 instead would put layer 20 in
// level 5 (features.5.0). Spec.PaDiMLayers records the choice.
//
// # Weights
//
// The registry (Lookup, Names) gives each backbone's layer table and its
// official torchvision ImageNet weights: URL, file name and SHA-256 (the
// full digest for resnet18 and wide_resnet50_2; for efficientnet_b5 only
// the 8-digit prefix torchvision puts in the file name is known).
//
// timm checkpoints of resnet18 and wide_resnet50_2 use torchvision's
// parameter names and load as they are. timm's EfficientNet-B5 does not:
// its names (conv_stem, bn1, blocks.S.B.conv_pw/conv_dw/se.conv_reduce/
// se.conv_expand/conv_pwl, bn1..bn3) would need a renaming map onto
// features.S+1.B.block.I, and its variants differ numerically as well: the
// tf_ ones use TensorFlow "SAME" padding (asymmetric at stride 2) and
// eps 1e-3, the others eps 1e-5. None of that is implemented.
package backbones
