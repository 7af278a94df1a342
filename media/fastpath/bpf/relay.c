// SPDX-License-Identifier: (MIT OR GPL-2.0)
//
// The kernel fast path of hotline's RTP relay: a TC program on the
// interface RTP arrives on. A packet that arrives at a bridged leg's local
// address and port from the leg's latched peer, and is a plain RTP packet
// of the leg's audio payload type and the peer's SSRC, is rewritten as the
// engine would write it on the other leg (addresses, ports, SSRC, sequence
// number and timestamp shifted by the engine's per-leg offsets) and
// redirected out, never reaching the engine's socket. Everything else
// (RTCP, telephone events, another SSRC, a stranger, a packet with CSRCs,
// an extension or padding) goes on to the next program and to user space
// as before. The engine writes one map entry per leg and deletes it when
// the leg needs user space again; the program counts per leg.
//
// Regenerate the Go bindings and the object with `make bpf` (clang).

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

// TCX verdicts (linux/bpf.h of kernels >= 6.6).
#define TCX_NEXT -1
#define LOOPBACK_IFINDEX 1 // lo is interface 1 in every network namespace

// leg_key is where a packet comes in: the leg's local address and port and
// its latched peer's (network byte order).
struct leg_key {
	__u32 laddr;
	__u32 raddr;
	__u16 lport;
	__u16 rport;
};

// leg is one bridged leg, written by the engine (the first block) and
// counted by the program (the second).
struct leg {
	__u32 out_saddr; // the other leg's local address (network order)
	__u32 out_daddr; // the other leg's peer
	__u16 out_sport;
	__u16 out_dport;
	__u32 in_ssrc;  // the peer's SSRC (network order)
	__u32 out_ssrc; // the other leg's output SSRC (network order)
	__u32 ts_off;   // added to the timestamp (host order)
	__u16 seq_off;  // added to the sequence number (host order)
	__u8 pt;        // the audio payload type, the same on both legs
	__u8 pad;
	__u32 out_ifindex; // where to send: lo (1) or the interface to the peer

	__u64 packets;  // relayed by the program
	__u64 bytes;    // their UDP payload bytes
	__u64 last_ns;  // bpf_ktime_get_ns() of the last one
	__u32 last_ts;  // the last timestamp sent (host order)
	__u16 last_seq; // the last sequence number sent (host order)
	__u16 last_len; // its payload length (samples, for G.711)
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct leg_key);
	__type(value, struct leg);
} legs SEC(".maps");

#define IP_OFF ETH_HLEN
#define UDP_OFF (IP_OFF + sizeof(struct iphdr))
#define RTP_OFF (UDP_OFF + sizeof(struct udphdr))
#define IP_CSUM (IP_OFF + offsetof(struct iphdr, check))
#define UDP_CSUM (UDP_OFF + offsetof(struct udphdr, check))

SEC("tc")
int rtp_relay(struct __sk_buff *skb)
{
	if (skb->protocol != bpf_htons(ETH_P_IP))
		return TCX_NEXT;
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	if (data + RTP_OFF + 12 > end) {
		if (bpf_skb_pull_data(skb, RTP_OFF + 12))
			return TCX_NEXT;
		data = (void *)(long)skb->data;
		end = (void *)(long)skb->data_end;
		if (data + RTP_OFF + 12 > end)
			return TCX_NEXT;
	}
	struct iphdr *ip = data + IP_OFF;
	if (ip->ihl != 5 || ip->protocol != IPPROTO_UDP || (ip->frag_off & bpf_htons(0x3fff)))
		return TCX_NEXT;
	struct udphdr *udp = data + UDP_OFF;
	struct leg_key key = {
		.laddr = ip->daddr,
		.raddr = ip->saddr,
		.lport = udp->dest,
		.rport = udp->source,
	};
	struct leg *l = bpf_map_lookup_elem(&legs, &key);
	if (!l)
		return TCX_NEXT;
	__u8 *rtp = data + RTP_OFF;
	// Plain RTP only: version 2, no padding, no extension, no CSRC; the
	// leg's audio payload type; the peer's SSRC.
	if (rtp[0] != 0x80 || (rtp[1] & 0x7f) != l->pt)
		return TCX_NEXT;
	__u32 ssrc = *(__u32 *)(rtp + 8);
	if (ssrc != l->in_ssrc)
		return TCX_NEXT;
	__u16 len = bpf_ntohs(udp->len);
	if (len < sizeof(struct udphdr) + 12)
		return TCX_NEXT;

	__u32 w0 = *(__u32 *)rtp; // version, payload type, sequence number
	__u16 seq = bpf_ntohs(*(__u16 *)(rtp + 2)) + l->seq_off;
	__u32 ts = bpf_ntohl(*(__u32 *)(rtp + 4)) + l->ts_off;
	__u32 ports = *(__u32 *)&udp->source;

	// The addresses are in the UDP pseudo-header (for a packet whose
	// checksum the device finishes, CHECKSUM_PARTIAL, only they count);
	// ports and RTP words are in the UDP checksum proper.
	__u32 old_addr[2] = {ip->saddr, ip->daddr};
	__u32 new_addr[2] = {l->out_saddr, l->out_daddr};
	__u32 old_rest[4] = {ports, w0, *(__u32 *)(rtp + 4), ssrc};
	__u32 new_rest[4] = {(__u32)l->out_sport | ((__u32)l->out_dport << 16), w0, bpf_htonl(ts), l->out_ssrc};
	((__u16 *)&new_rest[1])[1] = bpf_htons(seq);
	__s64 addr_diff = bpf_csum_diff(old_addr, sizeof(old_addr), new_addr, sizeof(new_addr), 0);
	__s64 rest_diff = bpf_csum_diff(old_rest, sizeof(old_rest), new_rest, sizeof(new_rest), 0);
	if (addr_diff < 0 || rest_diff < 0)
		return TCX_NEXT;

	// Write the packet directly, then fix the checksums (the checksum
	// helpers invalidate packet pointers).
	ip->saddr = new_addr[0];
	ip->daddr = new_addr[1];
	*(__u32 *)&udp->source = new_rest[0];
	*(__u32 *)rtp = new_rest[1];
	*(__u32 *)(rtp + 4) = new_rest[2];
	*(__u32 *)(rtp + 8) = new_rest[3];
	if (bpf_l3_csum_replace(skb, IP_CSUM, 0, addr_diff, 0) ||
	    bpf_l4_csum_replace(skb, UDP_CSUM, 0, addr_diff, BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0) ||
	    bpf_l4_csum_replace(skb, UDP_CSUM, 0, rest_diff, BPF_F_MARK_MANGLED_0))
		return TC_ACT_SHOT; // rewritten with a wrong checksum: it must not go anywhere

	__sync_fetch_and_add(&l->packets, 1);
	__sync_fetch_and_add(&l->bytes, len - sizeof(struct udphdr));
	l->last_ns = bpf_ktime_get_ns();
	l->last_ts = ts;
	l->last_seq = seq;
	l->last_len = len - sizeof(struct udphdr) - 12;

	if (l->out_ifindex == LOOPBACK_IFINDEX)
		return bpf_redirect(LOOPBACK_IFINDEX, 0); // loops back to our own ingress, then to the socket
	return bpf_redirect_neigh(l->out_ifindex, 0, 0, 0);
}

char __license[] SEC("license") = "Dual MIT/GPL";
