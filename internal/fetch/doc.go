// Package fetch downloads the project's external inputs (pretrained weights,
// MVTec AD archives) reproducibly: every download is checked against a
// known SHA-256, interrupted downloads resume with HTTP Range requests, and
// nothing appears at its final path until it is complete and verified.
// Extract unpacks .tar.xz / .tar.gz / .tar archives the same way: into a
// temporary directory beside the destination, renamed into place only when
// every entry has been written, refusing entries that would land outside
// the destination.
package fetch
