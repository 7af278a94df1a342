package call

import (
	"maps"
	"slices"

	"github.com/hotline-cc/hotline/acd"
	"github.com/hotline-cc/hotline/config"
	"github.com/hotline-cc/hotline/queue"
)

// acdConfigFrom converts the centre's acd and queues sections into the
// ACD's configuration, defaults applied (acd.Config.WithDefaults). Every
// skill gets a queue named after it (lines and IVR queue nodes land there):
// config adds the implied ones, and this adds any a hand-built Config lacks.
// Escalation steps that name queues add those queues' skills. Called by the
// engine at start and on reload; pure, any goroutine.
func acdConfigFrom(cfg *config.Config) acd.Config {
	a := cfg.ACD
	c := acd.Config{
		Features: acd.FeatureCodes{
			Login: a.Features.Login, Logout: a.Features.Logout,
			NotReady: a.Features.NotReady, Ready: a.Features.Ready,
			Reasons: maps.Clone(a.Features.Reasons),
		},
		MaxMisses: a.MaxMisses, RetryTried: a.RetryTried, StaleOffer: a.StaleOffer,
		CallbackLead: a.CallbackLead, AutoLogin: a.AutoLogin,
	}
	skillOf := make(map[string]string, len(cfg.Queues)+len(cfg.Skills))
	for _, q := range cfg.Queues {
		skillOf[q.Name] = q.Skill
	}
	for _, q := range cfg.Queues {
		c.Queues = append(c.Queues, queueConfig(q, skillOf))
	}
	for _, sk := range cfg.Skills {
		if _, ok := skillOf[sk]; !ok {
			c.Queues = append(c.Queues, queue.Config{Name: sk, Skill: sk})
		}
	}
	return c.WithDefaults()
}

// queueConfig converts one queue; skillOf maps queue names to skills (a
// name it lacks is a skill's implied queue).
func queueConfig(q config.Queue, skillOf map[string]string) queue.Config {
	out := queue.Config{
		Name: q.Name, Skill: q.Skill, MinLevel: q.MinLevel, Strategy: queue.Strategy(q.Strategy),
		WrapUp: q.WrapUp, ServiceLevel: q.ServiceLevel,
		MaxWait: q.MaxWait, OnMaxWait: destination(q.OnMaxWait),
		MaxLength: q.MaxLength, OnFull: destination(q.OnFull),
		AnnounceEvery: q.AnnounceEvery, Callback: q.Callback, DefaultHandle: q.DefaultHandle,
	}
	if q.Callback {
		out.CallbackExpiry = q.CallbackExpiry
	}
	for _, s := range q.Escalation {
		skills := slices.Clone(s.Skills)
		for _, name := range s.Queues {
			sk, ok := skillOf[name]
			if !ok {
				sk = name
			}
			if !slices.Contains(skills, sk) {
				skills = append(skills, sk)
			}
		}
		out.Escalation = append(out.Escalation, queue.Step{After: s.After, MinLevel: s.MinLevel, Skills: skills})
	}
	return out
}

func destination(d config.Destination) queue.Destination {
	switch d.Kind {
	case config.DestQueue:
		return queue.Destination{Kind: queue.DestQueue, Queue: d.Queue}
	case config.DestTarget:
		return queue.Destination{Kind: queue.DestTarget, Target: d.Target}
	case config.DestMessage:
		return queue.Destination{Kind: queue.DestMessage, Message: d.Message}
	case config.DestCallback:
		return queue.Destination{Kind: queue.DestCallback}
	}
	return queue.Destination{}
}
