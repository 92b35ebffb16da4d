-- The rest of the AI's handoff summary, as JSON (HandoffDetails): what the customer asked
-- for, what the AI could not resolve, a call's destination or follow-up channel, its
-- length, and the OpenCX session link. '{}' when the summary gave none of it.
ALTER TABLE handoffs ADD COLUMN details TEXT NOT NULL DEFAULT '{}';
-- A customer's other sessions, for the card: found by their OpenCX contact.
CREATE INDEX conversations_contact ON conversations(account_id, opencx_contact_id)
    WHERE opencx_contact_id IS NOT NULL;
