package eval

import "fmt"

// LabelRegions labels the 8-connected components of a row-major mask of the
// given width, as scipy.ndimage.label(mask, structure=np.ones((3, 3))) does:
// labels[i] is 0 outside the mask and 1..n inside, components numbered in the
// raster order of their first pixel.
func LabelRegions(mask []bool, width int) (labels []int32, n int, err error) {
	if width <= 0 || len(mask)%width != 0 {
		return nil, 0, fmt.Errorf("eval: mask of %d pixels is not a whole number of rows of width %d", len(mask), width)
	}
	labels, n = labelRegions(mask, width, nil)
	return labels, n, nil
}

// labelRegions is LabelRegions without validation, reusing buf for the labels.
func labelRegions(mask []bool, width int, buf []int32) ([]int32, int) {
	labels := buf[:0]
	if cap(labels) < len(mask) {
		labels = make([]int32, len(mask))
	} else {
		labels = labels[:len(mask)]
		clear(labels)
	}
	height := len(mask) / width
	var stack []int
	n := int32(0)
	for start, in := range mask {
		if !in || labels[start] != 0 {
			continue
		}
		n++
		labels[start] = n
		stack = append(stack[:0], start)
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			y, x := p/width, p%width
			for dy := -1; dy <= 1; dy++ {
				yy := y + dy
				if yy < 0 || yy >= height {
					continue
				}
				for dx := -1; dx <= 1; dx++ {
					xx := x + dx
					if xx < 0 || xx >= width {
						continue
					}
					q := yy*width + xx
					if mask[q] && labels[q] == 0 {
						labels[q] = n
						stack = append(stack, q)
					}
				}
			}
		}
	}
	return labels, int(n)
}
