#!/bin/sh
# Regenerates the WAV fixtures in media/testdata/prompts with sox: one good
# prompt (tone.wav, 0.25 s of 440 Hz, 16-bit mono 8 kHz) and one file per
# way of being wrong (stereo, 16 kHz, 8-bit, A-law).
set -eu
cd "$(dirname "$0")/prompts"
sox -V1 -D -n -r 8000 -c 1 -b 16 -e signed-integer tone.wav synth 0.25 sine 440 vol 0.5
sox -V1 -D -n -r 8000 -c 2 -b 16 stereo.wav synth 0.02 sine 440
sox -V1 -D -n -r 16000 -c 1 -b 16 rate16k.wav synth 0.02 sine 440
sox -V1 -D -n -r 8000 -c 1 -b 8 -e unsigned-integer u8.wav synth 0.02 sine 440
sox -V1 -D -n -r 8000 -c 1 -e a-law alaw.wav synth 0.02 sine 440
