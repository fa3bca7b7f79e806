package statedict

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// scanPickle walks the opcodes of a pickle up to STOP without executing
// them, checking that every length-prefixed argument fits in the bytes that
// remain. gopickle allocates whatever a length field says before reading,
// so this check is what keeps a corrupt data.pkl from exhausting memory.
func scanPickle(p []byte) error {
	i := 0
	need := func(op byte, at, n int) error {
		if n < 0 || n > len(p)-at {
			return fmt.Errorf("pickle opcode 0x%02x at byte %d wants %d bytes, %d remain", op, at-1, n, len(p)-at)
		}
		return nil
	}
	line := func(op byte, at int) (int, error) {
		j := bytes.IndexByte(p[at:], '\n')
		if j < 0 {
			return 0, fmt.Errorf("pickle opcode %q at byte %d: unterminated line", op, at-1)
		}
		return j + 1, nil
	}
	for i < len(p) {
		op := p[i]
		i++
		var n int // argument bytes after the opcode
		var err error
		switch op {
		case '.': // STOP
			return nil
		case '(', '0', '1', '2', 'N', 'Q', 'R', 'a', 'b', 'd', '}', 'e', 'l', ']', 'o', 's', 't', ')', 'u',
			0x81, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x97, 0x98:
			n = 0
		case 'K', 'h', 'q', 0x80, 0x82: // one-byte argument
			n = 1
		case 'M', 0x83:
			n = 2
		case 'J', 'j', 'r', 0x84:
			n = 4
		case 'G':
			n = 8
		case 'F', 'I', 'L', 'P', 'S', 'V', 'g', 'p': // newline-terminated
			n, err = line(op, i)
		case 'c', 'i': // two lines: module and name
			var a, b int
			if a, err = line(op, i); err == nil {
				b, err = line(op, i+a)
			}
			n = a + b
		case 'U', 'C', 0x8c, 0x8a: // one-byte length, then data
			if err = need(op, i, 1); err == nil {
				n = 1 + int(p[i])
			}
		case 'T', 'X', 'B', 0x8b: // four-byte length, then data
			if err = need(op, i, 4); err == nil {
				l := binary.LittleEndian.Uint32(p[i:])
				if (op == 'T' || op == 0x8b) && int32(l) < 0 {
					return fmt.Errorf("pickle opcode 0x%02x at byte %d: negative length %d", op, i-1, int32(l))
				}
				n = 4 + int(l)
			}
		case 0x8d, 0x8e, 0x96, 0x95: // eight-byte length (FRAME: frame size, data follows as opcodes)
			if err = need(op, i, 8); err == nil {
				l := binary.LittleEndian.Uint64(p[i:])
				if l > uint64(len(p)) {
					return fmt.Errorf("pickle opcode 0x%02x at byte %d wants %d bytes, %d remain", op, i-1, l, len(p)-i-8)
				}
				if op == 0x95 {
					if err = need(op, i+8, int(l)); err != nil {
						return err
					}
					n = 8 // the frame's content is scanned as ordinary opcodes
				} else {
					n = 8 + int(l)
				}
			}
		default:
			return fmt.Errorf("unknown pickle opcode 0x%02x at byte %d", op, i-1)
		}
		if err != nil {
			return err
		}
		if err := need(op, i, n); err != nil {
			return err
		}
		i += n
	}
	return fmt.Errorf("pickle ends without STOP")
}
