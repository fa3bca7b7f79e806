// Package eval computes the anomaly detection and localisation metrics the
// PaDiM paper reports: image-level AUROC, pixel-level AUROC and the
// per-region overlap (PRO) score of the MVTec AD evaluation code.
//
// Conventions. A higher score means "more anomalous". Labels and mask pixels
// are true for anomalous. A positive is counted at threshold t when its score
// is >= t, so all samples that share a score enter a curve at once, as in
// sklearn.metrics.roc_curve and in Bergmann et al.'s evaluation scripts.
//
// Image AUROC (AUROC, ROC) follows sklearn's roc_curve and roc_auc_score: the
// curve starts at (0, 0) with threshold +Inf, has one point per distinct
// score in decreasing order, and the area is the trapezoid rule over it.
//
// Pixel AUROC (PixelAUROC) is the same quantity over every pixel of every
// test image. Because a category easily has tens of millions of pixels, it is
// computed without float64 copies: each float32 score is mapped to an
// order-preserving uint32 key, positives and negatives are radix sorted
// separately and merged, and the area is obtained from the exact tie-aware
// Mann-Whitney count (pairs ranked correctly + half the tied pairs), which is
// identical to the trapezoid area under the tie-merged ROC curve. Memory is
// about 8 bytes per pixel.
//
// PRO follows the MVTec AD evaluation code (pro_curve_util.compute_pro and
// generic_util.trapezoid): ground-truth regions are the 8-connected
// components of each mask (scipy.ndimage.label with a 3x3 structure of ones);
// for every distinct score t, in decreasing order, FPR(t) is the fraction of
// all normal pixels of all images with score >= t and PRO(t) the mean over
// all regions of the fraction of the region's pixels with score >= t. The
// curve gets (0, 0) prepended and (1, 1) appended, is integrated with the
// trapezoid rule up to the FPR limit (0.3 in the paper), the value at the
// limit being linearly interpolated between its neighbours when no point
// lies exactly on it, and the area is divided by the limit. The official code
// rounds FPRs to float32; this package keeps float64, which changes AU-PRO by
// far less than its printed precision. Memory is about 16 bytes per pixel.
//
// Metric and Result represent metrics that may be unavailable (a category
// without ground-truth masks has no pixel metrics); an unavailable metric is
// never reported as a number, and encodes as JSON null.
package eval
