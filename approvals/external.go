package approvals

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sluice-dev/sluice/ingest/state"
)

// LinkExternal records on a pending request the document an external
// e-approval system created for it, with a ledger entry, in one
// transaction.
func LinkExternal(db *state.DB, key string, ext External) error {
	return db.Update(func(tx *state.Tx) error {
		r, err := getRequest(tx, key)
		if err != nil {
			return err
		}
		if r.Status != StatusPending {
			return fmt.Errorf("%s: %w: it is %s", key, ErrNotPending, r.Status)
		}
		if r.External != nil && r.External.DocumentID != ext.DocumentID {
			return fmt.Errorf("%s: already linked to %s document %s", key, r.External.System,
				r.External.DocumentID)
		}
		ext.Submitted = tx.Now()
		r.External = &ext
		if err := tx.Put(RequestsBucket, key, r); err != nil {
			return err
		}
		return tx.Append(state.Entry{Type: EntryExternal, Subject: key, Actor: SystemActor,
			Evidence: map[string]string{"event": "submitted", "system": ext.System,
				"document": ext.DocumentID, "url": ext.URL, "evidence": r.Evidence}})
	})
}

// NoteExternal records an event from the external system that moved
// nothing, such as a decision Sluice did not count. A note already
// recorded on the request is not recorded again, so polling the same
// status twice adds nothing. It reports whether the note was new.
func NoteExternal(db *state.DB, key, note string, evidence map[string]string) (bool, error) {
	added := false
	err := db.Update(func(tx *state.Tx) error {
		r, err := getRequest(tx, key)
		if err != nil {
			return err
		}
		if r.External == nil {
			return fmt.Errorf("%s: the request has no external document", key)
		}
		if slices.Contains(r.External.Notes, note) {
			return nil
		}
		added = true
		r.External.Notes = append(r.External.Notes, note)
		if err := tx.Put(RequestsBucket, key, r); err != nil {
			return err
		}
		ev := map[string]string{"event": "note", "system": r.External.System,
			"document": r.External.DocumentID, "note": note}
		for k, v := range evidence {
			ev[k] = v
		}
		return tx.Append(state.Entry{Type: EntryExternal, Subject: key, Actor: SystemActor, Evidence: ev})
	})
	return added, err
}

// RejectExternal rejects a pending request because its external document
// was rejected without a decision by a chain member, for example when it
// was withdrawn. actor names the document, such as "e-approval:DOC-17".
func RejectExternal(db *state.DB, key, actor, reason string) (*Request, error) {
	if strings.TrimSpace(reason) == "" {
		reason = "rejected in " + actor
	}
	var r *Request
	err := db.Update(func(tx *state.Tx) error {
		var err error
		if r, err = openRequest(tx, key); err != nil {
			return err
		}
		return closeRejected(tx, r, StatusRejected, actor, reason, actor)
	})
	return r, err
}
