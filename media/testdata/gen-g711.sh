#!/bin/sh
# Regenerates the G.711 reference vectors in media/testdata/g711 (or in the
# directory given as $1) with sox, the reference codec of PEERS.md.
#   pcm16.raw        input: a sweep of 16-bit little-endian samples
#   pcm16.ulaw/.alaw sox's encoding of pcm16.raw
#   codes.raw        input: the 256 code bytes 0..255
#   ulaw-dec.raw     sox's decoding of codes.raw as µ-law (16-bit LE)
#   alaw-dec.raw     sox's decoding of codes.raw as A-law (16-bit LE)
# -D disables dither so the output is reproducible.
set -eu
out=${1:-$(dirname "$0")/g711}
mkdir -p "$out"
# Every 7th value of the 16-bit range plus the extremes and the values near 0.
perl -e 'my @s; for (my $v = -32768; $v <= 32767; $v += 7) { push @s, $v }
  push @s, 32767, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, -2, -3, -4, -5, -6, -7, -8;
  print pack("s<*", @s)' >"$out/pcm16.raw"
perl -e 'print pack("C*", 0..255)' >"$out/codes.raw"
raw16="-t raw -e signed-integer -b 16 -L -r 8000 -c 1"
sox -V1 -D $raw16 "$out/pcm16.raw" -t raw -e u-law -b 8 -r 8000 -c 1 "$out/pcm16.ulaw"
sox -V1 -D $raw16 "$out/pcm16.raw" -t raw -e a-law -b 8 -r 8000 -c 1 "$out/pcm16.alaw"
sox -V1 -D -t raw -e u-law -b 8 -r 8000 -c 1 "$out/codes.raw" $raw16 "$out/ulaw-dec.raw"
sox -V1 -D -t raw -e a-law -b 8 -r 8000 -c 1 "$out/codes.raw" $raw16 "$out/alaw-dec.raw"
