#!/bin/sh
# Regenerates the demo centre's prompts in this folder: 8 kHz mono 16-bit PCM
# WAV, the format config checks and media plays. Needs espeak-ng (Mandarin
# voice cmn) and sox. The output is deterministic (no dither, fixed inputs),
# so the committed files are exactly what this script writes.
#
# Numbers are spelt digit by digit (一二三四五) because hotline numbers are
# read that way; espeak-ng would read 12345 as a quantity.
set -eu

cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# speak OUT SPEED TEMPO TEXT: Mandarin speech, resampled to 8 kHz, sped up
# with sox's speech-preserving tempo, normalised to -3 dBFS.
speak() {
	espeak-ng -v cmn -s "$2" -w "$tmp/voice.wav" "$4"
	sox -D "$tmp/voice.wav" -r 8000 -c 1 -b 16 -e signed-integer "$1" tempo -s "$3" norm -3
}

speak welcome.wav 300 1.55 \
	"您好，欢迎致电一二三四五政务服务便民热线。咨询请按一，投诉举报请按二，求助请按三，正在为您转接人工服务，请稍候。"

speak transition-12369.wav 260 1.3 \
	"您拨打的一二三六九环保热线已并入一二三四五政务服务便民热线，正在为您转接。"

# Music on hold: four soft chords (C, Am, F, G; root doubled an octave down),
# 2.5 s each, faded in and out so the 10 s loop joins without a click.
# Pitches are semitones from A4 (sox's %N notation).
i=0
for chord in "-9 -5 -2" "-12 -9 -5" "-16 -12 -9" "-14 -10 -7"; do
	set -- $chord
	i=$((i + 1))
	sox -D -r 8000 -c 4 -n -r 8000 -c 1 -b 16 -e signed-integer "$tmp/chord$i.wav" \
		synth 2.5 sine "%$1" sine "%$2" sine "%$3" sine "%$(($1 - 12))" \
		remix - tremolo 3 15 fade q 0.4 2.5 0.6 gain -10
done
sox -D "$tmp/chord1.wav" "$tmp/chord2.wav" "$tmp/chord3.wav" "$tmp/chord4.wav" hold.wav
