//go:build amd64

#include "textflag.h"

// float32 1, in all 8 lanes
DATA simdOne<>+0(SB)/4, $0x3f800000
DATA simdOne<>+4(SB)/4, $0x3f800000
DATA simdOne<>+8(SB)/4, $0x3f800000
DATA simdOne<>+12(SB)/4, $0x3f800000
DATA simdOne<>+16(SB)/4, $0x3f800000
DATA simdOne<>+20(SB)/4, $0x3f800000
DATA simdOne<>+24(SB)/4, $0x3f800000
DATA simdOne<>+28(SB)/4, $0x3f800000
GLOBL simdOne<>(SB), RODATA|NOPTR, $32

// float32 sign bit, in all 8 lanes
DATA simdSignBit<>+0(SB)/4, $0x80000000
DATA simdSignBit<>+4(SB)/4, $0x80000000
DATA simdSignBit<>+8(SB)/4, $0x80000000
DATA simdSignBit<>+12(SB)/4, $0x80000000
DATA simdSignBit<>+16(SB)/4, $0x80000000
DATA simdSignBit<>+20(SB)/4, $0x80000000
DATA simdSignBit<>+24(SB)/4, $0x80000000
DATA simdSignBit<>+28(SB)/4, $0x80000000
GLOBL simdSignBit<>(SB), RODATA|NOPTR, $32

// log2e, in all 8 lanes
DATA simdExpLog2e<>+0(SB)/4, $0x3fb8aa3b
DATA simdExpLog2e<>+4(SB)/4, $0x3fb8aa3b
DATA simdExpLog2e<>+8(SB)/4, $0x3fb8aa3b
DATA simdExpLog2e<>+12(SB)/4, $0x3fb8aa3b
DATA simdExpLog2e<>+16(SB)/4, $0x3fb8aa3b
DATA simdExpLog2e<>+20(SB)/4, $0x3fb8aa3b
DATA simdExpLog2e<>+24(SB)/4, $0x3fb8aa3b
DATA simdExpLog2e<>+28(SB)/4, $0x3fb8aa3b
GLOBL simdExpLog2e<>(SB), RODATA|NOPTR, $32

// ln2Hi, in all 8 lanes
DATA simdExpLn2Hi<>+0(SB)/4, $0x3f318000
DATA simdExpLn2Hi<>+4(SB)/4, $0x3f318000
DATA simdExpLn2Hi<>+8(SB)/4, $0x3f318000
DATA simdExpLn2Hi<>+12(SB)/4, $0x3f318000
DATA simdExpLn2Hi<>+16(SB)/4, $0x3f318000
DATA simdExpLn2Hi<>+20(SB)/4, $0x3f318000
DATA simdExpLn2Hi<>+24(SB)/4, $0x3f318000
DATA simdExpLn2Hi<>+28(SB)/4, $0x3f318000
GLOBL simdExpLn2Hi<>(SB), RODATA|NOPTR, $32

// ln2Lo, in all 8 lanes
DATA simdExpLn2Lo<>+0(SB)/4, $0xb95e8083
DATA simdExpLn2Lo<>+4(SB)/4, $0xb95e8083
DATA simdExpLn2Lo<>+8(SB)/4, $0xb95e8083
DATA simdExpLn2Lo<>+12(SB)/4, $0xb95e8083
DATA simdExpLn2Lo<>+16(SB)/4, $0xb95e8083
DATA simdExpLn2Lo<>+20(SB)/4, $0xb95e8083
DATA simdExpLn2Lo<>+24(SB)/4, $0xb95e8083
DATA simdExpLn2Lo<>+28(SB)/4, $0xb95e8083
GLOBL simdExpLn2Lo<>(SB), RODATA|NOPTR, $32

// roundMag = 1.5*2^23, in all 8 lanes
DATA simdExpRoundMag<>+0(SB)/4, $0x4b400000
DATA simdExpRoundMag<>+4(SB)/4, $0x4b400000
DATA simdExpRoundMag<>+8(SB)/4, $0x4b400000
DATA simdExpRoundMag<>+12(SB)/4, $0x4b400000
DATA simdExpRoundMag<>+16(SB)/4, $0x4b400000
DATA simdExpRoundMag<>+20(SB)/4, $0x4b400000
DATA simdExpRoundMag<>+24(SB)/4, $0x4b400000
DATA simdExpRoundMag<>+28(SB)/4, $0x4b400000
GLOBL simdExpRoundMag<>(SB), RODATA|NOPTR, $32

// expP0, in all 8 lanes
DATA simdExpP0<>+0(SB)/4, $0x3f000000
DATA simdExpP0<>+4(SB)/4, $0x3f000000
DATA simdExpP0<>+8(SB)/4, $0x3f000000
DATA simdExpP0<>+12(SB)/4, $0x3f000000
DATA simdExpP0<>+16(SB)/4, $0x3f000000
DATA simdExpP0<>+20(SB)/4, $0x3f000000
DATA simdExpP0<>+24(SB)/4, $0x3f000000
DATA simdExpP0<>+28(SB)/4, $0x3f000000
GLOBL simdExpP0<>(SB), RODATA|NOPTR, $32

// expP1, in all 8 lanes
DATA simdExpP1<>+0(SB)/4, $0x3e2aaaaa
DATA simdExpP1<>+4(SB)/4, $0x3e2aaaaa
DATA simdExpP1<>+8(SB)/4, $0x3e2aaaaa
DATA simdExpP1<>+12(SB)/4, $0x3e2aaaaa
DATA simdExpP1<>+16(SB)/4, $0x3e2aaaaa
DATA simdExpP1<>+20(SB)/4, $0x3e2aaaaa
DATA simdExpP1<>+24(SB)/4, $0x3e2aaaaa
DATA simdExpP1<>+28(SB)/4, $0x3e2aaaaa
GLOBL simdExpP1<>(SB), RODATA|NOPTR, $32

// expP2, in all 8 lanes
DATA simdExpP2<>+0(SB)/4, $0x3d2aa9c1
DATA simdExpP2<>+4(SB)/4, $0x3d2aa9c1
DATA simdExpP2<>+8(SB)/4, $0x3d2aa9c1
DATA simdExpP2<>+12(SB)/4, $0x3d2aa9c1
DATA simdExpP2<>+16(SB)/4, $0x3d2aa9c1
DATA simdExpP2<>+20(SB)/4, $0x3d2aa9c1
DATA simdExpP2<>+24(SB)/4, $0x3d2aa9c1
DATA simdExpP2<>+28(SB)/4, $0x3d2aa9c1
GLOBL simdExpP2<>(SB), RODATA|NOPTR, $32

// expP3, in all 8 lanes
DATA simdExpP3<>+0(SB)/4, $0x3c088908
DATA simdExpP3<>+4(SB)/4, $0x3c088908
DATA simdExpP3<>+8(SB)/4, $0x3c088908
DATA simdExpP3<>+12(SB)/4, $0x3c088908
DATA simdExpP3<>+16(SB)/4, $0x3c088908
DATA simdExpP3<>+20(SB)/4, $0x3c088908
DATA simdExpP3<>+24(SB)/4, $0x3c088908
DATA simdExpP3<>+28(SB)/4, $0x3c088908
GLOBL simdExpP3<>(SB), RODATA|NOPTR, $32

// expP4, in all 8 lanes
DATA simdExpP4<>+0(SB)/4, $0x3ab743ce
DATA simdExpP4<>+4(SB)/4, $0x3ab743ce
DATA simdExpP4<>+8(SB)/4, $0x3ab743ce
DATA simdExpP4<>+12(SB)/4, $0x3ab743ce
DATA simdExpP4<>+16(SB)/4, $0x3ab743ce
DATA simdExpP4<>+20(SB)/4, $0x3ab743ce
DATA simdExpP4<>+24(SB)/4, $0x3ab743ce
DATA simdExpP4<>+28(SB)/4, $0x3ab743ce
GLOBL simdExpP4<>(SB), RODATA|NOPTR, $32

// expP5, in all 8 lanes
DATA simdExpP5<>+0(SB)/4, $0x39506967
DATA simdExpP5<>+4(SB)/4, $0x39506967
DATA simdExpP5<>+8(SB)/4, $0x39506967
DATA simdExpP5<>+12(SB)/4, $0x39506967
DATA simdExpP5<>+16(SB)/4, $0x39506967
DATA simdExpP5<>+20(SB)/4, $0x39506967
DATA simdExpP5<>+24(SB)/4, $0x39506967
DATA simdExpP5<>+28(SB)/4, $0x39506967
GLOBL simdExpP5<>(SB), RODATA|NOPTR, $32

// expUpper = 88.37, in all 8 lanes
DATA simdExpUpper<>+0(SB)/4, $0x42b0bd71
DATA simdExpUpper<>+4(SB)/4, $0x42b0bd71
DATA simdExpUpper<>+8(SB)/4, $0x42b0bd71
DATA simdExpUpper<>+12(SB)/4, $0x42b0bd71
DATA simdExpUpper<>+16(SB)/4, $0x42b0bd71
DATA simdExpUpper<>+20(SB)/4, $0x42b0bd71
DATA simdExpUpper<>+24(SB)/4, $0x42b0bd71
DATA simdExpUpper<>+28(SB)/4, $0x42b0bd71
GLOBL simdExpUpper<>(SB), RODATA|NOPTR, $32

// expLower = -87.33, in all 8 lanes
DATA simdExpLower<>+0(SB)/4, $0xc2aea8f6
DATA simdExpLower<>+4(SB)/4, $0xc2aea8f6
DATA simdExpLower<>+8(SB)/4, $0xc2aea8f6
DATA simdExpLower<>+12(SB)/4, $0xc2aea8f6
DATA simdExpLower<>+16(SB)/4, $0xc2aea8f6
DATA simdExpLower<>+20(SB)/4, $0xc2aea8f6
DATA simdExpLower<>+24(SB)/4, $0xc2aea8f6
DATA simdExpLower<>+28(SB)/4, $0xc2aea8f6
GLOBL simdExpLower<>(SB), RODATA|NOPTR, $32

// actUpper = 87 (see simdBiasSiLU), in all 8 lanes
DATA simdActUpper<>+0(SB)/4, $0x42ae0000
DATA simdActUpper<>+4(SB)/4, $0x42ae0000
DATA simdActUpper<>+8(SB)/4, $0x42ae0000
DATA simdActUpper<>+12(SB)/4, $0x42ae0000
DATA simdActUpper<>+16(SB)/4, $0x42ae0000
DATA simdActUpper<>+20(SB)/4, $0x42ae0000
DATA simdActUpper<>+24(SB)/4, $0x42ae0000
DATA simdActUpper<>+28(SB)/4, $0x42ae0000
GLOBL simdActUpper<>(SB), RODATA|NOPTR, $32

// int32 127, the float32 exponent bias, in all 8 lanes
DATA simdExpBias<>+0(SB)/4, $0x0000007f
DATA simdExpBias<>+4(SB)/4, $0x0000007f
DATA simdExpBias<>+8(SB)/4, $0x0000007f
DATA simdExpBias<>+12(SB)/4, $0x0000007f
DATA simdExpBias<>+16(SB)/4, $0x0000007f
DATA simdExpBias<>+20(SB)/4, $0x0000007f
DATA simdExpBias<>+24(SB)/4, $0x0000007f
DATA simdExpBias<>+28(SB)/4, $0x0000007f
GLOBL simdExpBias<>(SB), RODATA|NOPTR, $32

// 32 lanes of all ones then 32 of zeros: 4n bytes before the middle
// start the masks of a tail of n < 32 elements (see TAILMASK).
DATA simdTailMask<>+0(SB)/4, $0xffffffff
DATA simdTailMask<>+4(SB)/4, $0xffffffff
DATA simdTailMask<>+8(SB)/4, $0xffffffff
DATA simdTailMask<>+12(SB)/4, $0xffffffff
DATA simdTailMask<>+16(SB)/4, $0xffffffff
DATA simdTailMask<>+20(SB)/4, $0xffffffff
DATA simdTailMask<>+24(SB)/4, $0xffffffff
DATA simdTailMask<>+28(SB)/4, $0xffffffff
DATA simdTailMask<>+32(SB)/4, $0xffffffff
DATA simdTailMask<>+36(SB)/4, $0xffffffff
DATA simdTailMask<>+40(SB)/4, $0xffffffff
DATA simdTailMask<>+44(SB)/4, $0xffffffff
DATA simdTailMask<>+48(SB)/4, $0xffffffff
DATA simdTailMask<>+52(SB)/4, $0xffffffff
DATA simdTailMask<>+56(SB)/4, $0xffffffff
DATA simdTailMask<>+60(SB)/4, $0xffffffff
DATA simdTailMask<>+64(SB)/4, $0xffffffff
DATA simdTailMask<>+68(SB)/4, $0xffffffff
DATA simdTailMask<>+72(SB)/4, $0xffffffff
DATA simdTailMask<>+76(SB)/4, $0xffffffff
DATA simdTailMask<>+80(SB)/4, $0xffffffff
DATA simdTailMask<>+84(SB)/4, $0xffffffff
DATA simdTailMask<>+88(SB)/4, $0xffffffff
DATA simdTailMask<>+92(SB)/4, $0xffffffff
DATA simdTailMask<>+96(SB)/4, $0xffffffff
DATA simdTailMask<>+100(SB)/4, $0xffffffff
DATA simdTailMask<>+104(SB)/4, $0xffffffff
DATA simdTailMask<>+108(SB)/4, $0xffffffff
DATA simdTailMask<>+112(SB)/4, $0xffffffff
DATA simdTailMask<>+116(SB)/4, $0xffffffff
DATA simdTailMask<>+120(SB)/4, $0xffffffff
DATA simdTailMask<>+124(SB)/4, $0xffffffff
DATA simdTailMask<>+128(SB)/4, $0x00000000
DATA simdTailMask<>+132(SB)/4, $0x00000000
DATA simdTailMask<>+136(SB)/4, $0x00000000
DATA simdTailMask<>+140(SB)/4, $0x00000000
DATA simdTailMask<>+144(SB)/4, $0x00000000
DATA simdTailMask<>+148(SB)/4, $0x00000000
DATA simdTailMask<>+152(SB)/4, $0x00000000
DATA simdTailMask<>+156(SB)/4, $0x00000000
DATA simdTailMask<>+160(SB)/4, $0x00000000
DATA simdTailMask<>+164(SB)/4, $0x00000000
DATA simdTailMask<>+168(SB)/4, $0x00000000
DATA simdTailMask<>+172(SB)/4, $0x00000000
DATA simdTailMask<>+176(SB)/4, $0x00000000
DATA simdTailMask<>+180(SB)/4, $0x00000000
DATA simdTailMask<>+184(SB)/4, $0x00000000
DATA simdTailMask<>+188(SB)/4, $0x00000000
DATA simdTailMask<>+192(SB)/4, $0x00000000
DATA simdTailMask<>+196(SB)/4, $0x00000000
DATA simdTailMask<>+200(SB)/4, $0x00000000
DATA simdTailMask<>+204(SB)/4, $0x00000000
DATA simdTailMask<>+208(SB)/4, $0x00000000
DATA simdTailMask<>+212(SB)/4, $0x00000000
DATA simdTailMask<>+216(SB)/4, $0x00000000
DATA simdTailMask<>+220(SB)/4, $0x00000000
DATA simdTailMask<>+224(SB)/4, $0x00000000
DATA simdTailMask<>+228(SB)/4, $0x00000000
DATA simdTailMask<>+232(SB)/4, $0x00000000
DATA simdTailMask<>+236(SB)/4, $0x00000000
DATA simdTailMask<>+240(SB)/4, $0x00000000
DATA simdTailMask<>+244(SB)/4, $0x00000000
DATA simdTailMask<>+248(SB)/4, $0x00000000
DATA simdTailMask<>+252(SB)/4, $0x00000000
GLOBL simdTailMask<>(SB), RODATA|NOPTR, $256

// TAILMASK sets m to a lane mask selecting the first n (1..7, in register
// n) lanes of a vector, for VMASKMOVPS: masked-off lanes are neither read
// nor written, so a tail never touches memory past the slice.
#define TAILMASK(n, m) \
	LEAQ simdTailMask<>+128(SB), R11; \
	MOVQ n, R12; \
	SHLQ $2, R12; \
	SUBQ R12, R11; \
	VMOVDQU (R11), m

// INRANGE jumps to lbl unless every lane of Y1 lies in (expLower, upper);
// NaN compares false (ordered predicates), so it leaves too. Clobbers Y2,
// Y3, AX.
#define INRANGE(upper, lbl) \
	VCMPPS $0x1e, simdExpLower<>(SB), Y1, Y2; \
	VCMPPS $0x11, upper, Y1, Y3; \
	VANDPS Y3, Y2, Y2; \
	VMOVMSKPS Y2, AX; \
	CMPL AX, $0xff; \
	JNE lbl

// EXP8 sets Y6 = exp(Y1) for in-range lanes by expBlock's method: k =
// round(x/ln2) by the round-to-integer constant, r = x - k*ln2 in two
// parts, the Cephes polynomial by Estrin's scheme, times 2^k built in the
// exponent field. FMA replaces expBlock's separate multiply and add, which
// only removes roundings. Clobbers Y1..Y5.
#define EXP8 \
	VMOVUPS simdExpRoundMag<>(SB), Y4; \
	VFMADD231PS simdExpLog2e<>(SB), Y1, Y4; \
	VSUBPS simdExpRoundMag<>(SB), Y4, Y4; \
	VFNMADD231PS simdExpLn2Hi<>(SB), Y4, Y1; \
	VFNMADD231PS simdExpLn2Lo<>(SB), Y4, Y1; \
	VMULPS Y1, Y1, Y2; \
	VMOVUPS simdExpP1<>(SB), Y3; \
	VFMADD213PS simdExpP0<>(SB), Y1, Y3; \
	VMOVUPS simdExpP3<>(SB), Y5; \
	VFMADD213PS simdExpP2<>(SB), Y1, Y5; \
	VMOVUPS simdExpP5<>(SB), Y6; \
	VFMADD213PS simdExpP4<>(SB), Y1, Y6; \
	VFMADD213PS Y5, Y2, Y6; \
	VFMADD213PS Y3, Y2, Y6; \
	VADDPS simdOne<>(SB), Y1, Y1; \
	VFMADD213PS Y1, Y2, Y6; \
	VCVTPS2DQ Y4, Y4; \
	VPADDD simdExpBias<>(SB), Y4, Y4; \
	VPSLLD $23, Y4, Y4; \
	VMULPS Y4, Y6, Y6

// DIV1PE sets Y2 = num / (1 + Y6) to about half an ulp, as expBlock's
// callers get by dividing in float64, without a division: s = 1+e is
// split exactly into s + lo (Fast2Sum, larger operand first), 1/s comes
// from VRCPPS and one Newton step (~22 bits), and the quotient q0 =
// num/s is corrected by its residual num - q0*(s+lo), computed with FMAs.
// Needs 1/s to be a normal float32 (s < 2^126): see simdActUpper.
// Clobbers Y1, Y3..Y5.
#define DIV1PE(num) \
	VADDPS simdOne<>(SB), Y6, Y1; \
	VMAXPS simdOne<>(SB), Y6, Y2; \
	VMINPS simdOne<>(SB), Y6, Y3; \
	VSUBPS Y2, Y1, Y2; \
	VSUBPS Y2, Y3, Y3; \
	VRCPPS Y1, Y4; \
	VMOVUPS simdOne<>(SB), Y5; \
	VFNMADD231PS Y4, Y1, Y5; \
	VFMADD213PS Y4, Y4, Y5; \
	VMULPS Y5, num, Y2; \
	VMOVAPS num, Y4; \
	VFNMADD231PS Y2, Y1, Y4; \
	VFNMADD231PS Y2, Y3, Y4; \
	VFMADD231PS Y4, Y5, Y2

// func simdBias(d []float32, b float32)
TEXT ·simdBias(SB), NOSPLIT, $0-28
	MOVQ d_base+0(FP), DI
	MOVQ d_len+8(FP), CX
	VBROADCASTSS b+24(FP), Y15

loop32:
	CMPQ CX, $32
	JLT  loop8
	VADDPS (DI), Y15, Y0
	VADDPS 32(DI), Y15, Y1
	VADDPS 64(DI), Y15, Y2
	VADDPS 96(DI), Y15, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32

loop8:
	CMPQ CX, $8
	JLT  tail
	VADDPS (DI), Y15, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8

tail:
	TESTQ CX, CX
	JEQ   done
	TAILMASK(CX, Y14)
	VMASKMOVPS (DI), Y14, Y0
	VADDPS Y0, Y15, Y0
	VMASKMOVPS Y0, Y14, (DI)

done:
	VZEROUPPER
	RET

// RELU8 sets r = max(v, 0) for v and r registers, with Y13 = 0: VMAXPS
// returns its second source (v) when either is NaN or both are zero, so
// NaN stays NaN; adding +0 then turns -0 into +0 as Go's max(v, 0) does.
#define RELU8(v) \
	VMAXPS v, Y13, v; \
	VADDPS Y13, v, v

// func simdBiasReLU(d []float32, b float32)
TEXT ·simdBiasReLU(SB), NOSPLIT, $0-28
	MOVQ d_base+0(FP), DI
	MOVQ d_len+8(FP), CX
	VBROADCASTSS b+24(FP), Y15
	VXORPS Y13, Y13, Y13

loop32:
	CMPQ CX, $32
	JLT  loop8
	VADDPS (DI), Y15, Y0
	VADDPS 32(DI), Y15, Y1
	VADDPS 64(DI), Y15, Y2
	VADDPS 96(DI), Y15, Y3
	RELU8(Y0)
	RELU8(Y1)
	RELU8(Y2)
	RELU8(Y3)
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32

loop8:
	CMPQ CX, $8
	JLT  tail
	VADDPS (DI), Y15, Y0
	RELU8(Y0)
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8

tail:
	TESTQ CX, CX
	JEQ   done
	TAILMASK(CX, Y14)
	VMASKMOVPS (DI), Y14, Y0
	VADDPS Y0, Y15, Y0
	RELU8(Y0)
	VMASKMOVPS Y0, Y14, (DI)

done:
	VZEROUPPER
	RET

// func simdScale(d []float32, f float32)
TEXT ·simdScale(SB), NOSPLIT, $0-28
	MOVQ d_base+0(FP), DI
	MOVQ d_len+8(FP), CX
	VBROADCASTSS f+24(FP), Y15

loop32:
	CMPQ CX, $32
	JLT  loop8
	VMULPS (DI), Y15, Y0
	VMULPS 32(DI), Y15, Y1
	VMULPS 64(DI), Y15, Y2
	VMULPS 96(DI), Y15, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32

loop8:
	CMPQ CX, $8
	JLT  tail
	VMULPS (DI), Y15, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8

tail:
	TESTQ CX, CX
	JEQ   done
	TAILMASK(CX, Y14)
	VMASKMOVPS (DI), Y14, Y0
	VMULPS Y0, Y15, Y0
	VMASKMOVPS Y0, Y14, (DI)

done:
	VZEROUPPER
	RET

// func simdAdd(d, s []float32)
TEXT ·simdAdd(SB), NOSPLIT, $0-48
	MOVQ d_base+0(FP), DI
	MOVQ d_len+8(FP), CX
	MOVQ s_base+24(FP), SI

loop32:
	CMPQ CX, $32
	JLT  loop8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VADDPS (DI), Y0, Y0
	VADDPS 32(DI), Y1, Y1
	VADDPS 64(DI), Y2, Y2
	VADDPS 96(DI), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, DI
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  loop32

loop8:
	CMPQ CX, $8
	JLT  tail
	VMOVUPS (SI), Y0
	VADDPS (DI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  loop8

tail:
	TESTQ CX, CX
	JEQ   done
	TAILMASK(CX, Y14)
	VMASKMOVPS (DI), Y14, Y0
	VMASKMOVPS (SI), Y14, Y1
	VADDPS Y1, Y0, Y0
	VMASKMOVPS Y0, Y14, (DI)

done:
	VZEROUPPER
	RET

// func simdAddReLU(d, s []float32)
TEXT ·simdAddReLU(SB), NOSPLIT, $0-48
	MOVQ d_base+0(FP), DI
	MOVQ d_len+8(FP), CX
	MOVQ s_base+24(FP), SI
	VXORPS Y13, Y13, Y13

loop32:
	CMPQ CX, $32
	JLT  loop8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VADDPS (DI), Y0, Y0
	VADDPS 32(DI), Y1, Y1
	VADDPS 64(DI), Y2, Y2
	VADDPS 96(DI), Y3, Y3
	RELU8(Y0)
	RELU8(Y1)
	RELU8(Y2)
	RELU8(Y3)
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, DI
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  loop32

loop8:
	CMPQ CX, $8
	JLT  tail
	VMOVUPS (SI), Y0
	VADDPS (DI), Y0, Y0
	RELU8(Y0)
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  loop8

tail:
	TESTQ CX, CX
	JEQ   done
	TAILMASK(CX, Y14)
	VMASKMOVPS (DI), Y14, Y0
	VMASKMOVPS (SI), Y14, Y1
	VADDPS Y1, Y0, Y0
	RELU8(Y0)
	VMASKMOVPS Y0, Y14, (DI)

done:
	VZEROUPPER
	RET

// func simdExp(e, x []float32, sign float32) int
TEXT ·simdExp(SB), NOSPLIT, $0-64
	MOVQ e_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ x_len+32(FP), CX
	MOVQ CX, BX
	VBROADCASTSS sign+48(FP), Y15

loop8:
	CMPQ CX, $8
	JLT  tail
	VMULPS (SI), Y15, Y1
	INRANGE(simdExpUpper<>(SB), stop)
	EXP8
	VMOVUPS Y6, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  loop8

tail:
	TESTQ CX, CX
	JEQ   stop
	TAILMASK(CX, Y14)
	VMASKMOVPS (SI), Y14, Y1
	VMULPS Y1, Y15, Y1
	INRANGE(simdExpUpper<>(SB), stop)
	EXP8
	VMASKMOVPS Y6, Y14, (DI)
	XORQ CX, CX

stop:
	SUBQ CX, BX
	MOVQ BX, ret+56(FP)
	VZEROUPPER
	RET

// func simdBiasSiLU(d []float32, b float32) int
TEXT ·simdBiasSiLU(SB), NOSPLIT, $0-40
	MOVQ d_base+0(FP), DI
	MOVQ d_len+8(FP), CX
	MOVQ CX, BX
	VBROADCASTSS b+24(FP), Y15

loop8:
	CMPQ CX, $8
	JLT  tail
	VADDPS (DI), Y15, Y0
	VXORPS simdSignBit<>(SB), Y0, Y1
	INRANGE(simdActUpper<>(SB), stop)
	EXP8
	DIV1PE(Y0)
	VMOVUPS Y2, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8

tail:
	TESTQ CX, CX
	JEQ   stop
	TAILMASK(CX, Y14)
	VMASKMOVPS (DI), Y14, Y0
	VADDPS Y0, Y15, Y0
	VXORPS simdSignBit<>(SB), Y0, Y1
	INRANGE(simdActUpper<>(SB), stop)
	EXP8
	DIV1PE(Y0)
	VMASKMOVPS Y2, Y14, (DI)
	XORQ CX, CX

stop:
	SUBQ CX, BX
	MOVQ BX, ret+32(FP)
	VZEROUPPER
	RET

// func simdBiasSigmoid(d []float32, b float32) int
TEXT ·simdBiasSigmoid(SB), NOSPLIT, $0-40
	MOVQ d_base+0(FP), DI
	MOVQ d_len+8(FP), CX
	MOVQ CX, BX
	VBROADCASTSS b+24(FP), Y15
	VMOVUPS simdOne<>(SB), Y13

loop8:
	CMPQ CX, $8
	JLT  tail
	VADDPS (DI), Y15, Y0
	VXORPS simdSignBit<>(SB), Y0, Y1
	INRANGE(simdActUpper<>(SB), stop)
	EXP8
	DIV1PE(Y13)
	VMOVUPS Y2, (DI)
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8

tail:
	TESTQ CX, CX
	JEQ   stop
	TAILMASK(CX, Y14)
	VMASKMOVPS (DI), Y14, Y0
	VADDPS Y0, Y15, Y0
	VXORPS simdSignBit<>(SB), Y0, Y1
	INRANGE(simdActUpper<>(SB), stop)
	EXP8
	DIV1PE(Y13)
	VMASKMOVPS Y2, Y14, (DI)
	XORQ CX, CX

stop:
	SUBQ CX, BX
	MOVQ BX, ret+32(FP)
	VZEROUPPER
	RET

// func simdDepthwiseRow(d, src []float32, offs []int, w []float32, b float32)
//
// d[i] = b + sum over taps t of w[t]*src[offs[t]+i], 32 outputs at a time
// in four accumulators that stay in registers across all taps; the last
// 1..31 outputs take the same loop over 1, 2 or 4 vectors with masked
// loads and stores.
TEXT ·simdDepthwiseRow(SB), NOSPLIT, $0-100
	MOVQ d_base+0(FP), DI
	MOVQ d_len+8(FP), CX
	MOVQ src_base+24(FP), SI
	MOVQ offs_base+48(FP), R8
	MOVQ offs_len+56(FP), R9
	MOVQ w_base+72(FP), R10
	VBROADCASTSS b+96(FP), Y15

loop32:
	CMPQ CX, $32
	JLT  tail
	VMOVAPS Y15, Y0
	VMOVAPS Y15, Y1
	VMOVAPS Y15, Y2
	VMOVAPS Y15, Y3
	XORQ AX, AX

taps32:
	MOVQ (R8)(AX*8), R11
	VBROADCASTSS (R10)(AX*4), Y4
	LEAQ (SI)(R11*4), R11
	VFMADD231PS (R11), Y4, Y0
	VFMADD231PS 32(R11), Y4, Y1
	VFMADD231PS 64(R11), Y4, Y2
	VFMADD231PS 96(R11), Y4, Y3
	INCQ AX
	CMPQ AX, R9
	JLT  taps32
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, DI
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  loop32

tail:
	TESTQ CX, CX
	JEQ   done
	LEAQ simdTailMask<>+128(SB), R11
	MOVQ CX, R12
	SHLQ $2, R12
	SUBQ R12, R11
	VMOVDQU (R11), Y5
	VMOVAPS Y15, Y0
	XORQ AX, AX
	CMPQ CX, $8
	JLE  taps1
	VMOVDQU 32(R11), Y6
	VMOVAPS Y15, Y1
	CMPQ CX, $16
	JLE  taps2
	VMOVDQU 64(R11), Y7
	VMOVDQU 96(R11), Y8
	VMOVAPS Y15, Y2
	VMOVAPS Y15, Y3

	// 17..31 outputs: four vectors, the last one or two partly or wholly
	// masked off.
taps4:
	MOVQ (R8)(AX*8), R11
	VBROADCASTSS (R10)(AX*4), Y4
	LEAQ (SI)(R11*4), R11
	VMASKMOVPS (R11), Y5, Y9
	VMASKMOVPS 32(R11), Y6, Y10
	VMASKMOVPS 64(R11), Y7, Y11
	VMASKMOVPS 96(R11), Y8, Y12
	VFMADD231PS Y9, Y4, Y0
	VFMADD231PS Y10, Y4, Y1
	VFMADD231PS Y11, Y4, Y2
	VFMADD231PS Y12, Y4, Y3
	INCQ AX
	CMPQ AX, R9
	JLT  taps4
	VMASKMOVPS Y0, Y5, (DI)
	VMASKMOVPS Y1, Y6, 32(DI)
	VMASKMOVPS Y2, Y7, 64(DI)
	VMASKMOVPS Y3, Y8, 96(DI)
	JMP  done

	// 9..16 outputs (rows of 14): two vectors.
taps2:
	MOVQ (R8)(AX*8), R11
	VBROADCASTSS (R10)(AX*4), Y4
	LEAQ (SI)(R11*4), R11
	VMASKMOVPS (R11), Y5, Y9
	VMASKMOVPS 32(R11), Y6, Y10
	VFMADD231PS Y9, Y4, Y0
	VFMADD231PS Y10, Y4, Y1
	INCQ AX
	CMPQ AX, R9
	JLT  taps2
	VMASKMOVPS Y0, Y5, (DI)
	VMASKMOVPS Y1, Y6, 32(DI)
	JMP  done

	// 1..8 outputs (rows of 7): one vector.
taps1:
	MOVQ (R8)(AX*8), R11
	VBROADCASTSS (R10)(AX*4), Y4
	LEAQ (SI)(R11*4), R11
	VMASKMOVPS (R11), Y5, Y9
	VFMADD231PS Y9, Y4, Y0
	INCQ AX
	CMPQ AX, R9
	JLT  taps1
	VMASKMOVPS Y0, Y5, (DI)

done:
	VZEROUPPER
	RET

// func simdSum64(x []float32) float64
//
// The sum of x in float64: 16 lanes of partial sums (four accumulators of
// four, so four additions are in flight), then a fixed reduction tree,
// then the last 0..3 elements one by one.
TEXT ·simdSum64(SB), NOSPLIT, $0-32
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3

loop16:
	CMPQ CX, $16
	JLT  loop4
	VCVTPS2PD (SI), Y4
	VCVTPS2PD 16(SI), Y5
	VCVTPS2PD 32(SI), Y6
	VCVTPS2PD 48(SI), Y7
	VADDPD Y4, Y0, Y0
	VADDPD Y5, Y1, Y1
	VADDPD Y6, Y2, Y2
	VADDPD Y7, Y3, Y3
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  loop16

loop4:
	CMPQ CX, $4
	JLT  reduce
	VCVTPS2PD (SI), Y4
	VADDPD Y4, Y0, Y0
	ADDQ $16, SI
	SUBQ $4, CX
	JMP  loop4

reduce:
	VADDPD Y1, Y0, Y0
	VADDPD Y3, Y2, Y2
	VADDPD Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD X1, X0, X0
	VPERMILPD $1, X0, X1
	VADDSD X1, X0, X0

tail:
	TESTQ CX, CX
	JEQ   done
	VCVTSS2SD (SI), X1, X1
	VADDSD X1, X0, X0
	ADDQ $4, SI
	DECQ CX
	JMP  tail

done:
	VMOVSD X0, ret+24(FP)
	VZEROUPPER
	RET

// The AVX-512 forms of the exp-based activations: 16 lanes, opmask
// registers for the range test and the tail, VSCALEFPS for the 2^k
// scaling and VRCP14PS (14 bits) for the reciprocal. Same method,
// constants and range as the AVX2 kernels.

// INRANGE16 jumps to lbl unless every lane of Z1 selected by mask k lies
// in (expLower, upper). Clobbers K1, K2, AX.
#define INRANGE16(k, upper, lbl) \
	VCMPPS.BCST $0x1e, simdExpLower<>(SB), Z1, k, K1; \
	VCMPPS.BCST $0x11, upper, Z1, k, K2; \
	KANDW K1, K2, K1; \
	KXORW K1, k, K1; \
	KORTESTW K1, K1; \
	JNE lbl

// EXP16 sets Z6 = exp(Z1). Clobbers Z1..Z5.
#define EXP16 \
	VBROADCASTSS simdExpRoundMag<>(SB), Z4; \
	VFMADD231PS.BCST simdExpLog2e<>(SB), Z1, Z4; \
	VSUBPS.BCST simdExpRoundMag<>(SB), Z4, Z4; \
	VFNMADD231PS.BCST simdExpLn2Hi<>(SB), Z4, Z1; \
	VFNMADD231PS.BCST simdExpLn2Lo<>(SB), Z4, Z1; \
	VMULPS Z1, Z1, Z2; \
	VBROADCASTSS simdExpP1<>(SB), Z3; \
	VFMADD213PS.BCST simdExpP0<>(SB), Z1, Z3; \
	VBROADCASTSS simdExpP3<>(SB), Z5; \
	VFMADD213PS.BCST simdExpP2<>(SB), Z1, Z5; \
	VBROADCASTSS simdExpP5<>(SB), Z6; \
	VFMADD213PS.BCST simdExpP4<>(SB), Z1, Z6; \
	VFMADD213PS Z5, Z2, Z6; \
	VFMADD213PS Z3, Z2, Z6; \
	VADDPS.BCST simdOne<>(SB), Z1, Z1; \
	VFMADD213PS Z1, Z2, Z6; \
	VSCALEFPS Z4, Z6, Z6

// DIV1PE16 sets Z2 = num / (1 + Z6) as DIV1PE does, with Z13 = 1.
// Clobbers Z1, Z3..Z5.
#define DIV1PE16(num) \
	VADDPS Z13, Z6, Z1; \
	VMAXPS Z13, Z6, Z2; \
	VMINPS Z13, Z6, Z3; \
	VSUBPS Z2, Z1, Z2; \
	VSUBPS Z2, Z3, Z3; \
	VRCP14PS Z1, Z4; \
	VMOVAPS Z13, Z5; \
	VFNMADD231PS Z4, Z1, Z5; \
	VFMADD213PS Z4, Z4, Z5; \
	VMULPS Z5, num, Z2; \
	VMOVAPS num, Z4; \
	VFNMADD231PS Z2, Z1, Z4; \
	VFNMADD231PS Z2, Z3, Z4; \
	VFMADD231PS Z4, Z5, Z2

// simdBiasSiLU16 and simdBiasSigmoid16 differ only in the numerator:
// Z0 (v) for SiLU, Z13 (1) for Sigmoid.

// func simdBiasSiLU16(d []float32, b float32) int
TEXT ·simdBiasSiLU16(SB), NOSPLIT, $0-40
	MOVQ d_base+0(FP), DI
	MOVQ d_len+8(FP), CX
	MOVQ CX, BX
	VBROADCASTSS b+24(FP), Z15
	VBROADCASTSS simdOne<>(SB), Z13
	MOVL $0xffff, AX
	KMOVW AX, K3

loop16:
	CMPQ CX, $16
	JLT  tail
	VADDPS (DI), Z15, Z0
	VXORPS.BCST simdSignBit<>(SB), Z0, Z1
	INRANGE16(K3, simdActUpper<>(SB), stop)
	EXP16
	DIV1PE16(Z0)
	VMOVUPS Z2, (DI)
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  loop16

tail:
	TESTQ CX, CX
	JEQ   stop
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K3
	VMOVUPS.Z (DI), K3, Z0
	VADDPS Z0, Z15, Z0
	VXORPS.BCST simdSignBit<>(SB), Z0, Z1
	INRANGE16(K3, simdActUpper<>(SB), stop)
	EXP16
	DIV1PE16(Z0)
	VMOVUPS Z2, K3, (DI)
	XORQ CX, CX

stop:
	SUBQ CX, BX
	MOVQ BX, ret+32(FP)
	VZEROUPPER
	RET

// func simdBiasSigmoid16(d []float32, b float32) int
TEXT ·simdBiasSigmoid16(SB), NOSPLIT, $0-40
	MOVQ d_base+0(FP), DI
	MOVQ d_len+8(FP), CX
	MOVQ CX, BX
	VBROADCASTSS b+24(FP), Z15
	VBROADCASTSS simdOne<>(SB), Z13
	MOVL $0xffff, AX
	KMOVW AX, K3

loop16:
	CMPQ CX, $16
	JLT  tail
	VADDPS (DI), Z15, Z0
	VXORPS.BCST simdSignBit<>(SB), Z0, Z1
	INRANGE16(K3, simdActUpper<>(SB), stop)
	EXP16
	DIV1PE16(Z13)
	VMOVUPS Z2, (DI)
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  loop16

tail:
	TESTQ CX, CX
	JEQ   stop
	MOVL $1, AX
	SHLL CX, AX
	DECL AX
	KMOVW AX, K3
	VMOVUPS.Z (DI), K3, Z0
	VADDPS Z0, Z15, Z0
	VXORPS.BCST simdSignBit<>(SB), Z0, Z1
	INRANGE16(K3, simdActUpper<>(SB), stop)
	EXP16
	DIV1PE16(Z13)
	VMOVUPS Z2, K3, (DI)
	XORQ CX, CX

stop:
	SUBQ CX, BX
	MOVQ BX, ret+32(FP)
	VZEROUPPER
	RET

// func simdSplit2(first, second, in *float32, pairs int) int
//
// first[j] = in[2j] and second[j] = in[2j+1] for j below pairs rounded
// down to a multiple of 8; a nil first or second is not written. Per 16
// inputs a, b (two vectors): VSHUFPS picks a0 a2 b0 b2 | a4 a6 b4 b6 (or
// the odd lanes) within 128-bit lanes, and VPERMPD 0xD8 puts the 64-bit
// pairs in order: a0 a2 a4 a6 b0 b2 b4 b6.
TEXT ·simdSplit2(SB), NOSPLIT, $0-40
	MOVQ first+0(FP), DI
	MOVQ second+8(FP), SI
	MOVQ in+16(FP), DX
	MOVQ pairs+24(FP), CX
	XORQ AX, AX

split2loop:
	LEAQ 8(AX), BX
	CMPQ BX, CX
	JGT  split2done
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	TESTQ DI, DI
	JEQ   split2odd
	VSHUFPS $0x88, Y1, Y0, Y2
	VPERMPD $0xD8, Y2, Y2
	VMOVUPS Y2, (DI)(AX*4)

split2odd:
	TESTQ SI, SI
	JEQ   split2next
	VSHUFPS $0xDD, Y1, Y0, Y3
	VPERMPD $0xD8, Y3, Y3
	VMOVUPS Y3, (SI)(AX*4)

split2next:
	ADDQ $64, DX
	MOVQ BX, AX
	JMP  split2loop

split2done:
	MOVQ AX, ret+32(FP)
	VZEROUPPER
	RET
