package expirer

import (
	"strings"

	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/nats-io/nats.go"
)

// poisonMarshaler writes a poisoned message with its metadata as headers,
// like watermill-nats' NATSMarshaler, but made safe: a header value cannot
// hold a line break (a recovered panic's reason holds a stack trace), and a
// diagnostic copy needs no more than a kilobyte of it.
type poisonMarshaler struct{}

func (poisonMarshaler) Marshal(topic string, msg *message.Message) (*nats.Msg, error) {
	m := nats.NewMsg(topic)
	m.Data = msg.Payload
	m.Header.Set(wmnats.WatermillUUIDHdr, msg.UUID) // becomes Nats-Msg-Id: a re-poisoned copy is dropped
	for k, v := range msg.Metadata {
		m.Header.Set(headerSafe(k), headerSafe(v))
	}
	return m, nil
}

func headerSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
	if len(s) > 1024 {
		s = s[:1024]
	}
	return s
}

// poisonPublisher counts and logs each poisoned message once it is stored.
type poisonPublisher struct {
	message.Publisher
	f *feed
}

func (p poisonPublisher) Publish(topic string, msgs ...*message.Message) error {
	if err := p.Publisher.Publish(topic, msgs...); err != nil {
		return err
	}
	for _, m := range msgs {
		p.f.st.poisoned.Add(1)
		reason, _, _ := strings.Cut(m.Metadata.Get(middleware.ReasonForPoisonedKey), "\n")
		p.f.log.Warn("expirer poisoned a message", "seq", m.Metadata.Get(metaStreamSeq),
			"subject", m.Metadata.Get(metaSubject), "reason", reason, "copy", topic)
	}
	return nil
}
