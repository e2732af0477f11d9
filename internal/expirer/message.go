package expirer

import (
	"strconv"

	"github.com/ThreeDotsLabs/watermill"
	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"

	"github.com/filelinks/filelinks/events"
	"github.com/filelinks/filelinks/internal/expirer/schedule"
)

// unmarshaler copies a JetStream message into a Watermill one, adding what
// watermill-nats leaves out: the subject and the stream and consumer
// sequences from the message's metadata. It never fails (see handle).
type unmarshaler struct{}

var _ wmnats.Unmarshaler = unmarshaler{}

func (u unmarshaler) Unmarshal(m *nats.Msg) (*message.Message, error) {
	md, err := m.Metadata()
	id := "nojs-" + watermill.NewUUID()
	if err == nil {
		id = md.Stream + "-" + strconv.FormatUint(md.Sequence.Stream, 10)
	}
	msg := message.NewMessage(id, m.Data)
	msg.Metadata.Set(metaSubject, m.Subject)
	if err == nil {
		msg.Metadata.Set(metaStreamSeq, strconv.FormatUint(md.Sequence.Stream, 10))
		msg.Metadata.Set(metaConsumerSeq, strconv.FormatUint(md.Sequence.Consumer, 10))
		msg.Metadata.Set(metaDelivered, strconv.FormatUint(md.NumDelivered, 10))
	}
	if t := m.Header.Get(events.TypeHeader); t != "" {
		msg.Metadata.Set(events.TypeHeader, t)
	}
	return msg, nil
}

// position is where a message stands in the stream and in the consumer's
// deliveries, as the unmarshaler recorded it.
type position struct {
	stream, consumer uint64
}

const (
	metaSubject     = "filelinks_subject"
	metaStreamSeq   = "filelinks_stream_seq"
	metaConsumerSeq = "filelinks_consumer_seq"
	metaDelivered   = "filelinks_delivered"
)

func positionOf(msg *message.Message) (position, bool) {
	s, err1 := strconv.ParseUint(msg.Metadata.Get(metaStreamSeq), 10, 64)
	c, err2 := strconv.ParseUint(msg.Metadata.Get(metaConsumerSeq), 10, 64)
	return position{stream: s, consumer: c}, err1 == nil && err2 == nil
}

// decoded is what handle needs of a message: its position and its
// schedule change, or why it has none.
type decoded struct {
	pos    position
	posOK  bool
	change schedule.Change
	isLink bool
	err    error
}

// decode reads msg's position from the metadata the unmarshaler recorded
// and its schedule change from its payload.
func decode(msg *message.Message) decoded {
	var d decoded
	d.pos, d.posOK = positionOf(msg)
	if d.posOK {
		rec := events.Record{Seq: d.pos.stream, Subject: msg.Metadata.Get(metaSubject), Data: msg.Payload}
		d.change, d.isLink, d.err = schedule.ChangeOf(rec)
	}
	return d
}
