package config

import (
	"testing"
	"time"
)

// ivrYAML adds hours, a calendar, prompt sets and a tree to baseYAML; the
// rows below edit it. Line 25 is "hours:".
const ivrYAML = baseYAML + `hours:
  office:
    mon-fri: ["08:30-12:00", "13:30-17:30"]
calendar:
  holidays: [2026-10-01..2026-10-07]
  workdays: [2026-09-20, {date: 2026-10-10, as: fri}]
prompts:
  sets: {zh: ., yue: yue}
default_ivr: front
ivr:
  front:
    start: menu
    nodes:
      menu:
        type: menu
        prompts: [menu.wav]
        choices: {1: market, 2: later}
        default: general
      later: {type: time, hours: office, open: general, closed: bye}
      bye: {type: play, prompts: [invalid.wav], next: end}
      end: {type: hangup}
      market: {type: queue, skill: market}
      general: {type: queue}
`

// editIVR replaces each old with new in ivrYAML (pairs); old must occur once.
func editIVR(t testing.TB, pairs ...string) string {
	t.Helper()
	return editText(t, ivrYAML, pairs...)
}

// ivrBadCases are the refused IVR, hours and calendar files, as in badCases.
func ivrBadCases(t testing.TB) []badCase {
	const general = "      general: {type: queue}\n"
	return []badCase{
		{"unknown node", editIVR(t, "next: end}", "next: ending}"), []string{
			`44: ivr.front.nodes.bye.next: unknown node "ending" (nodes: menu, later, bye, end, market, general)`,
			`45: ivr.front.nodes.end: node "end" is unreachable from start "menu"`,
		}},
		{"unknown start", editIVR(t, "start: menu", "start: welcome"), []string{
			`36: ivr.front.start: unknown node "welcome" (nodes: menu, later, bye, end, market, general)`,
		}},
		{"unreachable node", ivrYAML + "      orphan: {type: hangup}\n", []string{
			`48: ivr.front.nodes.orphan: node "orphan" is unreachable from start "menu"`,
		}},
		{"loop with no input", editIVR(t, "next: end}", "next: again}\n      again: {type: set, tag: x, next: bye}"), []string{
			`44: ivr.front.nodes.bye: a loop with no input: bye -> again -> bye; put a menu or collect node on it`,
			`46: ivr.front.nodes.end: node "end" is unreachable`,
		}},
		{"missing prompt", editIVR(t, "prompts: [menu.wav]", "prompts: [menu.wav, nothing.wav]"), []string{
			`40: ivr.front.nodes.menu.prompts[1]: prompt "nothing.wav" in prompts/: not found`,
		}},
		{"dialect prompt in a wrong format", editIVR(t, "prompts: [menu.wav]", "prompts: [dual.wav]"), []string{
			`40: ivr.front.nodes.menu.prompts[0]: prompt "dual.wav" of set yue in prompts/yue/: must be 8 kHz mono 16-bit PCM`,
		}},
		{"menu without exits", editIVR(t, "choices: {1: market, 2: later}", "choices: {}"), []string{
			"41: ivr.front.nodes.menu.choices: a menu without exits",
			`43: ivr.front.nodes.later: node "later" is unreachable`,
			`44: ivr.front.nodes.bye: node "bye" is unreachable`,
			`45: ivr.front.nodes.end: node "end" is unreachable`,
			`46: ivr.front.nodes.market: node "market" is unreachable`,
		}},
		{"menu without choices", editIVR(t, "        choices: {1: market, 2: later}\n", ""), []string{
			`39: ivr.front.nodes.menu: missing required key "choices"`,
			`42: ivr.front.nodes.later: node "later" is unreachable`,
			`43: ivr.front.nodes.bye: node "bye" is unreachable`,
			`44: ivr.front.nodes.end: node "end" is unreachable`,
			`45: ivr.front.nodes.market: node "market" is unreachable`,
		}},
		{"key not on the keypad", editIVR(t, "2: later}", "2: later, 10: general}"), []string{
			`41: ivr.front.nodes.menu.choices.10: "10" is not a key of the keypad (0-9, *, #)`,
		}},
		{"unknown node type", editIVR(t, "type: menu", "type: menus"), []string{
			`39: ivr.front.nodes.menu.type: unknown node type "menus" (known: play, menu, collect, set, time, caller, language, queue, transfer, hangup)`,
		}},
		{"key of another node type", editIVR(t, "closed: bye}", "closed: bye, skill: market}"), []string{
			`43: ivr.front.nodes.later: unknown key "skill" (known: closed, holiday, hours, open, type)`,
		}},
		{"node without type", editIVR(t, "{type: hangup}", "{reason: done}"), []string{
			`45: ivr.front.nodes.end: missing required key "type"`,
		}},
		{"unknown hours in a time node", editIVR(t, "hours: office, open", "hours: night, open"), []string{
			`43: ivr.front.nodes.later.hours: unknown hours "night" (hours: office)`,
		}},
		{"unknown skill in a queue node", editIVR(t, "skill: market}", "skill: roads}"), []string{
			`46: ivr.front.nodes.market.skill: unknown skill "roads"`,
		}},
		{"unknown prompt set", editIVR(t, general, "      general: {type: language, set: en, next: market}\n"), []string{
			`47: ivr.front.nodes.general.set: unknown prompt set "en" (prompts.sets: yue, zh)`,
		}},
		{"collect min above max", editIVR(t, general,
			"      general: {type: collect, prompts: [menu.wav], var: id, min: 6, max: 4, next: market, default: market}\n"), []string{
			"47: ivr.front.nodes.general.min: min 6 is above max 4",
		}},
		{"collect sensitive not a boolean", editIVR(t, general,
			"      general: {type: collect, prompts: [menu.wav], var: id, sensitive: maybe, next: market, default: market}\n"), []string{
			"47: ivr.front.nodes.general.sensitive: ",
		}},
		{"sensitive on a menu", editIVR(t, "type: menu\n", "type: menu\n        sensitive: true\n"), []string{
			`40: ivr.front.nodes.menu: unknown key "sensitive"`,
		}},
		{"set node without anything to set", editIVR(t, general, "      general: {type: set, next: market}\n"), []string{
			"47: ivr.front.nodes.general: a set node needs var (with value), tag or priority",
		}},
		{"transfer target not a SIP URI", editIVR(t, general, "      general: {type: transfer, target: \"tel:12333\"}\n"), []string{
			`47: ivr.front.nodes.general.target: "tel:12333" is not a SIP URI`,
		}},
		{"priority out of range", editIVR(t, general, "      general: {type: queue, priority: 10}\n"), []string{
			"47: ivr.front.nodes.general.priority: must be an integer from 0 to 9, not 10",
		}},
		{"unknown default_ivr", editIVR(t, "default_ivr: front", "default_ivr: main"), []string{
			`33: default_ivr: unknown IVR tree "main" (trees: front)`,
		}},
		{"unknown line ivr and hours", editIVR(t,
			"    target: sip:12315@127.0.0.1:5093\n", "    target: sip:12315@127.0.0.1:5093\n    ivr: back\n    hours: lunch\n"), []string{
			`21: lines[1].ivr: unknown IVR tree "back" (trees: front)`,
			`22: lines[1].hours: unknown hours "lunch" (hours: office)`,
		}},
		{"hours on a main line", editIVR(t, "    mode: main\n", "    mode: main\n    hours: office\n"), []string{
			"16: lines[0].hours: only parallel and subcentre lines have hours (the department's), not a main line",
		}},
		{"bad time ranges", editIVR(t, `mon-fri: ["08:30-12:00", "13:30-17:30"]`,
			`mon-fri: ["08:30-12:00", "11:30-17:30", "22:00-06:00", "8:00-9:00", "23:00-24:00"]`), []string{
			`27: hours.office.mon-fri[1]: "11:30-17:30" overlaps 08:30-12:00`,
			`27: hours.office.mon-fri[2]: "22:00-06:00" ends before it starts (a range may not cross midnight: split it)`,
			`27: hours.office.mon-fri[3]: "8:00-9:00" is not a time range HH:MM-HH:MM`,
		}},
		{"bad day keys", editIVR(t, `    mon-fri: ["08:30-12:00", "13:30-17:30"]`,
			`    mon-fri: ["08:30-12:00", "13:30-17:30"]`+"\n    wed: []\n    monday: []\n    sun-sat: []"), []string{
			"28: hours.office.wed: wed is already given by mon-fri",
			`29: hours.office.monday: "monday" is not a day (mon..sun), a range of days (mon-fri) or holiday`,
			`30: hours.office.sun-sat: "sun-sat" is not a day`,
		}},
		{"bad calendar", editIVR(t,
			"holidays: [2026-10-01..2026-10-07]", "holidays: [2026-10-01..2026-10-07, 2026-10-08..2026-10-01, 2026-01-01..2026-03-01, 2026-02-30]",
			"workdays: [2026-09-20, {date: 2026-10-10, as: fri}]", "workdays: [2026-10-09, 2026-10-03, {date: 2026-10-10, as: friday}]"), []string{
			`29: calendar.holidays[1]: "2026-10-08..2026-10-01" ends before it starts`,
			`29: calendar.holidays[2]: "2026-01-01..2026-03-01" is longer than 31 days`,
			`29: calendar.holidays[3]: "2026-02-30" is not a date`,
			`30: calendar.workdays[2].as: "friday" is not a weekday (mon..sun)`,
			"30: calendar.workdays[0]: 2026-10-09 is a fri; make-up working days (调休) are Saturdays or Sundays",
			"30: calendar.workdays[1]: 2026-10-03 is also a holiday (calendar.holidays[0], line 29)",
		}},
		{"prompt set folder missing", editIVR(t, "sets: {zh: ., yue: yue}", "sets: {zh: ., yue: cantonese}"), []string{
			`32: prompts.sets.yue: folder "cantonese" not found in prompts/`,
		}},
		{"default language not a set", editIVR(t, "sets: {zh: ., yue: yue}", "sets: {zh: ., yue: yue}\n  language: en"), []string{
			`33: prompts.language: "en" is not one of prompts.sets (yue, zh)`,
		}},
		{"prompt set folder outside", editIVR(t, "sets: {zh: ., yue: yue}", "sets: {zh: ., yue: ../yue}"), []string{
			`32: prompts.sets.yue: "../yue" must be a relative folder inside prompts.dir`,
		}},
	}
}

func TestParseRefusesBadIVR(t *testing.T) {
	if probs, _ := problems(t, ivrYAML); probs != nil {
		t.Fatalf("ivrYAML refused:\n%v", (&Errors{probs}).Error())
	}
	checkBadCases(t, ivrBadCases(t))
}

// TestIVRValues checks what a valid file decodes to.
func TestIVRValues(t *testing.T) {
	probs, c := problems(t, editIVR(t, "2: later}", "2: later, 9: menu}"))
	if probs != nil {
		t.Fatalf("a loop through a menu refused:\n%v", (&Errors{probs}).Error())
	}
	tr := c.IVRs["front"]
	m := tr.Nodes["menu"]
	if tr.Start != "menu" || m.Type != NodeMenu || !m.BargeIn || m.Timeout != 5*time.Second || m.Retries != 2 ||
		m.Choices["9"] != "menu" || m.Default != "general" || c.DefaultIVR != "front" {
		t.Errorf("menu %+v", m)
	}
	if b := tr.Nodes["bye"]; b.BargeIn || b.Next != "end" || tr.Nodes["end"].Reason != "ivr" {
		t.Errorf("bye %+v end %+v", b, tr.Nodes["end"])
	}
	h := c.Hours["office"]
	want := []TimeRange{{8*time.Hour + 30*time.Minute, 12 * time.Hour}, {13*time.Hour + 30*time.Minute, 17*time.Hour + 30*time.Minute}}
	if len(h.Week[time.Wednesday]) != 2 || h.Week[time.Wednesday][1] != want[1] || h.Week[time.Saturday] != nil || h.Holiday != nil {
		t.Errorf("hours %+v", h)
	}
	cal := c.Calendar
	if len(cal.Holidays) != 1 || cal.Holidays[0].To != (Date{2026, 10, 7}) || len(cal.Workdays) != 2 ||
		cal.Workdays[0].As != time.Monday || cal.Workdays[1].As != time.Friday {
		t.Errorf("calendar %+v", cal)
	}
	if c.PromptPath("yue", "menu.wav") != "yue/menu.wav" || c.PromptPath("yue", "invalid.wav") != "invalid.wav" ||
		c.PromptPath("zh", "menu.wav") != "menu.wav" {
		t.Error("PromptPath")
	}
}
