package acd

import "strings"

// FeatureCodes are the digits an agent dials from the seat phone.
type FeatureCodes struct {
	Login    string            `yaml:"login"`
	Logout   string            `yaml:"logout"`
	NotReady string            `yaml:"not_ready"`
	Ready    string            `yaml:"ready"`
	Reasons  map[string]string `yaml:"reasons"` // digits after NotReady -> reason code
}

// DefaultFeatureCodes: *11 login, *12 logout, *13[n] not ready, *14 ready.
func DefaultFeatureCodes() FeatureCodes {
	return FeatureCodes{
		Login: "*11", Logout: "*12", NotReady: "*13", Ready: "*14",
		Reasons: map[string]string{"1": ReasonBreak, "2": ReasonMeal, "3": ReasonTraining, "4": ReasonMeeting},
	}
}

// Parse turns a dialled string into an agent command; false when it is not
// a feature code. *13 alone means a break; *13 with an unknown suffix is not
// a feature code (the caller gets the usual answer for an unknown number).
func (f FeatureCodes) Parse(dialled string) (Command, bool) {
	switch dialled {
	case "":
		return Command{}, false
	case f.Login:
		return Command{Kind: CmdLogin}, true
	case f.Logout:
		return Command{Kind: CmdLogout}, true
	case f.Ready:
		return Command{Kind: CmdReady}, true
	case f.NotReady:
		return Command{Kind: CmdNotReady, Reason: ReasonBreak}, true
	}
	if f.NotReady == "" {
		return Command{}, false
	}
	rest, ok := strings.CutPrefix(dialled, f.NotReady)
	if !ok {
		return Command{}, false
	}
	reason, ok := f.Reasons[rest]
	if !ok {
		return Command{}, false
	}
	return Command{Kind: CmdNotReady, Reason: reason}, true
}
