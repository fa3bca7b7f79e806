// Package filekind tells regular files from everything else a path can name
// (directories, named pipes, devices, sockets), by stat rather than open, so
// that checking a path can never block: opening a FIFO for reading waits for
// a writer, and a device such as /dev/zero never reaches end of file.
package filekind
