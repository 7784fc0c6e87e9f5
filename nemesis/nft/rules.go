package nft

import (
	"encoding/binary"
	"math"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// lossModulus is the range numgen draws from: a loss of p percent drops a packet when the draw is below
// p*lossModulus/100, so the resolution is 0.01%.
const lossModulus = 10000

// dropExprs is the rule for d, the same bytecode `nft` emits for
//
//	ip saddr A drop
//	ip saddr A numgen random mod 10000 < T drop
//
// (ip6 saddr for an IPv6 address). In an inet table the address match must be guarded by the protocol, because
// the source address sits at a different offset in each.
func dropExprs(d drop) []expr.Any {
	proto, off := byte(unix.NFPROTO_IPV4), uint32(12)
	if d.src.Is6() && !d.src.Is4In6() {
		proto, off = unix.NFPROTO_IPV6, 8
	}
	src := d.src.Unmap().AsSlice()
	e := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
		&expr.Payload{
			DestRegister: 1,
			Base:         expr.PayloadBaseNetworkHeader,
			Offset:       off,
			Len:          uint32(len(src)),
		},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: src},
	}
	if d.percent > 0 && d.percent < 100 {
		threshold := uint32(math.Round(d.percent * lossModulus / 100))
		be := make([]byte, 4)
		binary.BigEndian.PutUint32(be, threshold)
		e = append(e,
			&expr.Numgen{Register: 1, Modulus: lossModulus, Type: unix.NFT_NG_RANDOM},
			// numgen writes host byte order; cmp lt compares bytes, so turn it big-endian first.
			&expr.Byteorder{SourceRegister: 1, DestRegister: 1, Op: expr.ByteorderHton, Len: 4, Size: 4},
			&expr.Cmp{Op: expr.CmpOpLt, Register: 1, Data: be},
		)
	}
	return append(e, &expr.Verdict{Kind: expr.VerdictDrop})
}
