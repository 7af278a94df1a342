#!/bin/sh
# Regenerates the demo centre's prompts in this folder: 8 kHz mono 16-bit PCM
# WAV, the format config checks and media plays. Needs espeak-ng and sox. The
# output is deterministic (no dither, fixed inputs), so the committed files
# are exactly what this script writes.
#
# Mandarin (the default prompt set, zh, in this folder) is written in pinyin
# with tone numbers and spoken by espeak-ng's cmn-latn-pinyin voice: the
# character voice (cmn) of espeak-ng 1.51 lacks many characters and reads
# their tone digits in English. The Chinese text is in the comment above each
# prompt. Numbers are spoken digit by digit (yi1 er4 san1 si4 wu3) because
# hotline numbers are read that way.
#
# Cantonese (the dialect set, yue, in yue/) is written in characters and
# spoken by the yue voice. It holds only the prompts of the 12333 menu; any
# other prompt falls back to the Mandarin one.
set -eu

cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p yue

# say VOICE OUT SPEED TEMPO TEXT: speech, resampled to 8 kHz, sped up with
# sox's speech-preserving tempo, normalised to -3 dBFS.
say() {
	espeak-ng -v "$1" -s "$3" -w "$tmp/voice.wav" "$5"
	sox -D "$tmp/voice.wav" -r 8000 -c 1 -b 16 -e signed-integer "$2" tempo -s "$4" norm -3
}
zh() { say cmn-latn-pinyin "$@"; }
yue() { say yue "$@"; }

# 您好，一二三四五热线。咨询按一，投诉举报按二，求助按三，监督按九，正在为您转接。
zh welcome.wav 230 1.35 \
	"nin2 hao3, yi1 er4 san1 si4 wu3 re4 xian4. zi1 xun2 an4 yi1, tou2 su4 ju3 bao4 an4 er4, qiu2 zhu4 an4 san1, jian1 du1 an4 jiu3, zheng4 zai4 wei4 nin2 zhuan3 jie1."

# 您拨打的一二三六九环保热线已并入一二三四五热线，正在为您转接。
zh transition-12369.wav 230 1.3 \
	"nin2 bo1 da3 de5 yi1 er4 san1 liu4 jiu3 huan2 bao3 re4 xian4 yi3 bing4 ru4 yi1 er4 san1 si4 wu3 re4 xian4, zheng4 zai4 wei4 nin2 zhuan3 jie1."

# 您好，一二三三三社保热线现在是非工作时间。
zh closed-12333.wav 200 1.2 \
	"nin2 hao3, yi1 er4 san1 san1 san1 she4 bao3 re4 xian4 xian4 zai4 shi4 fei1 gong1 zuo4 shi2 jian1."

# 养老保险按一，医疗保险按二，就业按三，人工按零，粤语按八，重听按九。
zh menu-12333.wav 230 1.35 \
	"yang3 lao3 bao3 xian3 an4 yi1, yi1 liao2 bao3 xian3 an4 er4, jiu4 ye4 an4 san1, ren2 gong1 an4 ling2, yue4 yu3 an4 ba1, chong2 ting1 an4 jiu3."

# 养老金查询按一，转移接续按二，返回按星号。
zh menu-12333-pension.wav 230 1.3 \
	"yang3 lao3 jin1 cha2 xun2 an4 yi1, zhuan3 yi2 jie1 xu4 an4 er4, fan3 hui2 an4 xing1 hao4."

# 输入有误，请重新输入。
zh invalid.wav 175 1.1 "shu1 ru4 you3 wu4, qing3 chong2 xin1 shu1 ru4."

# 您还没有输入，请重新选择。
zh no-input.wav 175 1.1 "nin2 hai2 mei2 you3 shu1 ru4, qing3 chong2 xin1 xuan3 ze2."

# 请稍候，正在为您转接人工服务。
zh please-hold.wav 175 1.1 "qing3 shao1 hou4, zheng4 zai4 wei4 nin2 zhuan3 jie1 ren2 gong1 fu2 wu4."

# 感谢您的来电，再见。
zh goodbye.wav 175 1.1 "gan3 xie4 nin2 de5 lai2 dian4, zai4 jian4."

# Position in queue: 您前面还有 … 位来电者在等候. Then one file per digit.
zh position-ahead.wav 175 1.1 "nin2 qian2 mian4 hai2 you3"
zh position-waiting.wav 175 1.1 "wei4 lai2 dian4 zhe3 zai4 deng3 hou4."
# Estimated wait: 预计等待约 … 分钟.
zh wait-about.wav 175 1.1 "yu4 ji4 deng3 dai4 yue1"
zh wait-minutes.wav 175 1.1 "fen1 zhong1."
d=0
for syllable in ling2 yi1 er4 san1 si4 wu3 liu4 qi1 ba1 jiu3; do
	zh "digit-$d.wav" 175 1.1 "$syllable"
	d=$((d + 1))
done

# Queue callback. Offer: 如需保留排队位置并挂机等候回电，请按一。
zh callback-offer.wav 200 1.2 \
	"ru2 xu1 bao3 liu2 pai2 dui4 wei4 zhi4 bing4 gua4 ji1 deng3 hou4 hui2 dian4, qing3 an4 yi1."
# 已为您保留排队位置，坐席空闲时将给您回电，再见。
zh callback-confirm.wav 200 1.2 \
	"yi3 wei4 nin2 bao3 liu2 pai2 dui4 wei4 zhi4, zuo4 xi2 kong4 xian2 shi2 jiang1 gei3 nin2 hui2 dian4, zai4 jian4."
# 您好，这里是一二三四五热线，为您回电，请稍候。(the caller, called back)
zh callback-hello.wav 200 1.2 \
	"nin2 hao3, zhe4 li3 shi4 yi1 er4 san1 si4 wu3 re4 xian4, wei4 nin2 hui2 dian4, qing3 shao1 hou4."
# 排队回电 (the whisper the seat hears before the caller is connected)
zh callback-whisper.wav 175 1.1 "pai2 dui4 hui2 dian4."

# Outbound calls (POST /api/v1/outbound): the whisper the seat hears before
# the citizen is dialled, by purpose. 回访 (a follow-up call):
zh outbound-followup.wav 175 1.1 "hui2 fang3."
# 漏接回拨 (calling back a missed caller):
zh outbound-missed.wav 175 1.1 "lou4 jie1 hui2 bo1."

yue yue/closed-12333.wav 175 1.2 "您好，一二三三三社保熱線，而家係非辦公時間。"
yue yue/menu-12333.wav 200 1.3 "養老保險按一，醫療保險按二，就業按三，人工按零，重聽按九。"
yue yue/menu-12333-pension.wav 200 1.25 "養老金查詢按一，轉移接續按二，返回按星號。"
yue yue/invalid.wav 175 1.1 "輸入錯誤，請重新輸入。"
yue yue/no-input.wav 175 1.1 "你未有輸入，請重新選擇。"
yue yue/please-hold.wav 175 1.1 "請稍等，而家幫你轉接人工服務。"
yue yue/goodbye.wav 175 1.1 "多謝你嘅來電，再見。"

# 请对本次服务作出评价：非常满意请按一，满意请按二，基本满意请按三，不满意请按四，非常不满意请按五。
zh survey.wav 230 1.35 \
	"qing3 dui4 ben3 ci4 fu2 wu4 zuo4 chu1 ping2 jia4: fei1 chang2 man3 yi4 qing3 an4 yi1, man3 yi4 qing3 an4 er4, ji1 ben3 man3 yi4 qing3 an4 san1, bu4 man3 yi4 qing3 an4 si4, fei1 chang2 bu4 man3 yi4 qing3 an4 wu3."

# 感谢您的评价，再见。
zh survey-thanks.wav 175 1.1 "gan3 xie4 nin2 de5 ping2 jia4, zai4 jian4."

# Transfer failed (the agent hears it when the department did not answer, was
# busy or failed): three short beeps at 450 Hz, the frequency of China's call
# progress tones (GB/T 15279), so that it reads as a tone, not as speech.
sox -D -n -r 8000 -c 1 -b 16 -e signed-integer transfer-failed.wav \
	synth 0.15 sine 450 pad 0 0.1 repeat 2 gain -6

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
