import Foundation
import Logging
import MostradorSQL
import MostradorStorage

/// The api's database, its versioned schema: an SQLite file in the data folder, or PostgreSQL when
/// `MOSTRADOR_DATABASE_URL` names one (several api instances on several machines).
enum APIDatabase {
    static func open(
        dataDirectory: String, url: String? = nil, durability: DatabaseFactory.Durability = .full, logger: Logger
    ) async throws -> SQLDatabase {
        if let url, !url.isEmpty {
            let database = try SQLDatabase.postgres(url: url, logger: logger)
            try await migrator.migrate(database)
            return database
        }
        let path = "\(dataDirectory)/mostrador.sqlite"
        let database = SQLDatabase(sqlite: try DatabaseFactory.open(path: path, durability: durability))
        try await migrator.migrate(database, sqlitePath: path)
        return database
    }

    /// Migrations recorded in the database that this binary does not have: an older version started on a database a
    /// newer one migrated (the api carries on and warns at start, see docs/operations.md on rolling back).
    static func unknownMigrations(_ database: SQLDatabase) async throws -> Set<String> {
        try await migrator.unknownMigrations(database)
    }

    static var migrator: SQLMigrator {
        var migrator = SQLMigrator()
        migrator.registerMigration("v1: customers, tickets, messages, agents, sessions, outbox") { db in
            try db.execute(
                sql: """
                    CREATE TABLE customers (
                        id INTEGER PRIMARY KEY,
                        name TEXT,
                        email TEXT,
                        language TEXT NOT NULL DEFAULT 'es',
                        created_at DATETIME NOT NULL
                    );
                    -- One person, however WhatsApp shows them: a phone number one day, a @lid id the next.
                    CREATE TABLE customer_identities (
                        id INTEGER PRIMARY KEY,
                        customer_id INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
                        kind TEXT NOT NULL CHECK (kind IN ('phone', 'lid', 'bsuid', 'email', 'guest')),
                        value TEXT NOT NULL,
                        -- The address exactly as the bridge wrote it, used when writing back.
                        address TEXT NOT NULL,
                        created_at DATETIME NOT NULL,
                        last_seen_at DATETIME NOT NULL,
                        UNIQUE (kind, value)
                    );
                    CREATE INDEX customer_identities_customer ON customer_identities(customer_id);

                    CREATE TABLE agents (
                        id INTEGER PRIMARY KEY,
                        uuid TEXT NOT NULL UNIQUE,
                        username TEXT NOT NULL UNIQUE COLLATE NOCASE,
                        email TEXT NOT NULL DEFAULT '',
                        first_name TEXT NOT NULL DEFAULT '',
                        last_name TEXT NOT NULL DEFAULT '',
                        password_hash TEXT NOT NULL,
                        role TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
                        is_active BOOLEAN NOT NULL DEFAULT 1,
                        is_available BOOLEAN NOT NULL DEFAULT 1,
                        specialty TEXT NOT NULL DEFAULT 'soporte_general',
                        created_at DATETIME NOT NULL
                    );
                    -- Tokens are stored as SHA-256 hashes: a stolen database holds no usable token.
                    CREATE TABLE sessions (
                        token_hash TEXT PRIMARY KEY,
                        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
                        created_at DATETIME NOT NULL,
                        expires_at DATETIME NOT NULL
                    ) WITHOUT ROWID;

                    CREATE TABLE tickets (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        uuid TEXT NOT NULL UNIQUE,
                        customer_id INTEGER NOT NULL REFERENCES customers(id),
                        channel TEXT NOT NULL CHECK (channel IN ('whatsapp', 'web')),
                        status TEXT NOT NULL DEFAULT 'new'
                            CHECK (status IN ('new', 'open', 'waiting', 'resolved', 'closed')),
                        category TEXT NOT NULL DEFAULT 'unknown' CHECK (category IN ('Hardware', 'Software', 'unknown')),
                        category_confidence REAL,
                        category_model TEXT,
                        needs_review BOOLEAN NOT NULL DEFAULT 0,
                        description TEXT,
                        equipment TEXT,
                        assigned_agent_id INTEGER REFERENCES agents(id),
                        intake_state TEXT,
                        language TEXT NOT NULL DEFAULT 'es',
                        created_at DATETIME NOT NULL,
                        updated_at DATETIME NOT NULL,
                        last_message_at DATETIME,
                        first_response_at DATETIME,
                        resolved_at DATETIME,
                        closed_at DATETIME
                    );
                    CREATE INDEX tickets_customer_status ON tickets(customer_id, status);
                    CREATE INDEX tickets_status_created ON tickets(status, id);

                    CREATE TABLE messages (
                        id INTEGER PRIMARY KEY,
                        ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
                        role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'tecnico', 'system')),
                        content TEXT NOT NULL,
                        type TEXT NOT NULL DEFAULT 'text' CHECK (type IN ('text', 'image', 'file')),
                        agent_id INTEGER REFERENCES agents(id),
                        client_id TEXT,
                        external_id TEXT,
                        external_timestamp DATETIME,
                        delivery_status TEXT CHECK (delivery_status IN
                            ('queued', 'sent', 'delivered', 'read', 'retrying', 'waiting_bridge', 'failed')),
                        delivery_attempt INTEGER NOT NULL DEFAULT 0,
                        delivery_error TEXT,
                        delivery_updated_at DATETIME,
                        provider_message_id TEXT,
                        read_at DATETIME,
                        created_at DATETIME NOT NULL,
                        UNIQUE (ticket_id, client_id)
                    );
                    CREATE INDEX messages_ticket ON messages(ticket_id, id);
                    -- A bridge that delivers the same inbound message twice stores it once.
                    CREATE UNIQUE INDEX messages_external ON messages(external_id) WHERE external_id IS NOT NULL;

                    -- Events and commands written in the same transaction as the change they describe.
                    CREATE TABLE outbox (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        message_id TEXT NOT NULL UNIQUE,
                        exchange TEXT NOT NULL,
                        routing_key TEXT NOT NULL,
                        type TEXT NOT NULL,
                        correlation_id TEXT,
                        schema_version INTEGER NOT NULL,
                        body BLOB NOT NULL,
                        created_at DATETIME NOT NULL,
                        claimed_until DATETIME,
                        attempts INTEGER NOT NULL DEFAULT 0,
                        last_error TEXT
                    );

                    -- What each consumer has already applied, by AMQP message_id.
                    CREATE TABLE processed_messages (
                        consumer TEXT NOT NULL,
                        message_id TEXT NOT NULL,
                        processed_at DATETIME NOT NULL,
                        PRIMARY KEY (consumer, message_id)
                    ) WITHOUT ROWID;
                    """
            )
        }
        migrator.registerMigration("v2: attachments") { db in
            try db.execute(
                sql: """
                    -- Photo evidence and files; the bytes live on disk under their SHA-256.
                    CREATE TABLE attachments (
                        id INTEGER PRIMARY KEY,
                        ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
                        message_id INTEGER REFERENCES messages(id) ON DELETE SET NULL,
                        sha256 TEXT NOT NULL,
                        mime TEXT NOT NULL,
                        size INTEGER NOT NULL,
                        filename TEXT,
                        caption TEXT,
                        created_at DATETIME NOT NULL
                    );
                    CREATE INDEX attachments_ticket ON attachments(ticket_id, id);
                    """)
        }
        migrator.registerMigration("v3: guest chat, assignment, notifications") { db in
            try db.execute(
                sql: """
                    ALTER TABLE tickets ADD COLUMN subject TEXT;
                    ALTER TABLE tickets ADD COLUMN initial_message TEXT;
                    ALTER TABLE tickets ADD COLUMN assigned_at DATETIME;
                    -- A web visitor's key to their own chat room (SHA-256 of the room token).
                    ALTER TABLE tickets ADD COLUMN guest_token_hash TEXT;
                    CREATE UNIQUE INDEX tickets_guest_token ON tickets(guest_token_hash) WHERE guest_token_hash IS NOT NULL;
                    CREATE INDEX tickets_assigned ON tickets(assigned_agent_id, status);

                    -- A web visitor who started a chat and has not completed their profile yet.
                    CREATE TABLE guest_sessions (
                        id TEXT PRIMARY KEY,
                        initial_message TEXT NOT NULL,
                        ip TEXT,
                        created_at DATETIME NOT NULL,
                        expires_at DATETIME NOT NULL,
                        ticket_id INTEGER REFERENCES tickets(id) ON DELETE SET NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX guest_sessions_ip ON guest_sessions(ip, created_at);

                    CREATE TABLE notifications (
                        id INTEGER PRIMARY KEY,
                        uuid TEXT NOT NULL UNIQUE,
                        recipient TEXT NOT NULL CHECK (recipient IN ('agent', 'customer')),
                        agent_id INTEGER REFERENCES agents(id) ON DELETE CASCADE,
                        ticket_id INTEGER REFERENCES tickets(id) ON DELETE CASCADE,
                        kind TEXT NOT NULL,
                        title TEXT NOT NULL,
                        message TEXT NOT NULL,
                        is_read BOOLEAN NOT NULL DEFAULT 0,
                        read_at DATETIME,
                        created_at DATETIME NOT NULL
                    );
                    CREATE INDEX notifications_agent ON notifications(agent_id, is_read, id);
                    CREATE INDEX notifications_ticket ON notifications(ticket_id, recipient, id);
                    """)
        }
        migrator.registerMigration("v4: verified identities, pinned reply address, visitor claims") { db in
            try db.execute(
                sql: """
                    -- Only a channel verifies an identity ('whatsapp': an inbound message came from it). NULL is a claim.
                    ALTER TABLE customer_identities ADD COLUMN verified_by TEXT;
                    UPDATE customer_identities SET verified_by = 'whatsapp' WHERE kind IN ('phone', 'lid');
                    -- A WhatsApp ticket answers the verified address its conversation came from, and only that one.
                    ALTER TABLE tickets ADD COLUMN reply_address TEXT;
                    UPDATE tickets SET reply_address = (
                        SELECT ci.address FROM customer_identities ci WHERE ci.customer_id = tickets.customer_id
                            AND ci.kind IN ('phone', 'lid') ORDER BY ci.last_seen_at DESC LIMIT 1)
                    WHERE channel = 'whatsapp';
                    -- What a web visitor typed about themselves: claims about this ticket, never identities.
                    ALTER TABLE tickets ADD COLUMN claimed_email TEXT;
                    ALTER TABLE tickets ADD COLUMN claimed_phone TEXT;
                    """)
        }
        migrator.registerMigration("v5: WebSocket tickets, session purge") { db in
            try db.execute(
                sql: """
                    -- Short-lived single-use keys to open a WebSocket without a long-lived token in the URL; shared by
                    -- every api instance. Stored as SHA-256, bound to the agent session or room token that asked.
                    CREATE TABLE ws_tickets (
                        ticket_hash TEXT PRIMARY KEY,
                        credential TEXT NOT NULL CHECK (credential IN ('session', 'room')),
                        credential_hash TEXT NOT NULL,
                        ticket_id INTEGER REFERENCES tickets(id) ON DELETE CASCADE,
                        expires_at DATETIME NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX ws_tickets_expiry ON ws_tickets(expires_at);
                    CREATE INDEX sessions_agent ON sessions(agent_id);
                    CREATE INDEX sessions_expiry ON sessions(expires_at);
                    CREATE INDEX guest_sessions_expiry ON guest_sessions(expires_at);
                    CREATE INDEX tickets_closed ON tickets(closed_at) WHERE guest_token_hash IS NOT NULL;
                    """)
        }
        migrator.registerMigration("v6: outbox claims index") { db in
            // The outbox publisher holds back a ticket's rows while one of them is claimed (in flight or backing
            // off after a refusal): it looks the claimed rows up by time.
            try db.execute(sql: "CREATE INDEX outbox_claims ON outbox(claimed_until, correlation_id)")
        }
        migrator.registerMigration("v7: WhatsApp channels") { db in
            try db.execute(
                sql: """
                    -- The channel a WhatsApp ticket answers through, with its reply address ('seed' when NULL).
                    ALTER TABLE tickets ADD COLUMN reply_channel TEXT;
                    -- Channel statuses (delivered, read, failed) find their message by the channel's message id.
                    CREATE INDEX messages_provider_id ON messages(provider_message_id)
                        WHERE provider_message_id IS NOT NULL;
                    -- A status that arrived before the relay reported the message sent (the channel can be faster
                    -- than the broker): applied as soon as the message gets its provider id.
                    CREATE TABLE channel_statuses (
                        id INTEGER PRIMARY KEY,
                        channel TEXT NOT NULL,
                        provider_message_id TEXT NOT NULL,
                        status TEXT NOT NULL,
                        reason TEXT,
                        at DATETIME NOT NULL,
                        received_at DATETIME NOT NULL
                    );
                    CREATE INDEX channel_statuses_provider ON channel_statuses(provider_message_id);
                    CREATE INDEX channel_statuses_received ON channel_statuses(received_at);
                    """)
        }
        migrator.registerMigration("v8: quoted replies") { db in
            // The message a message answers (a customer's WhatsApp reply, a technician's reply to one).
            try db.execute(sql: "ALTER TABLE messages ADD COLUMN reply_to_id INTEGER REFERENCES messages(id)")
        }
        migrator.registerMigration("v9: customer merges") { db in
            try db.execute(
                sql: """
                    -- A customer merged into another (a channel proved both are one person) points at it.
                    ALTER TABLE customers ADD COLUMN merged_into INTEGER REFERENCES customers(id);
                    CREATE TABLE customer_merges (
                        id INTEGER PRIMARY KEY,
                        survivor_id INTEGER NOT NULL REFERENCES customers(id),
                        merged_id INTEGER NOT NULL REFERENCES customers(id),
                        -- The two addresses the channel vouched for in one message.
                        evidence TEXT NOT NULL,
                        -- The ids of the tickets that moved, comma-separated.
                        tickets TEXT NOT NULL,
                        created_at DATETIME NOT NULL
                    );
                    CREATE INDEX customer_merges_survivor ON customer_merges(survivor_id);
                    """)
        }
        migrator.registerMigration("v10: templates") { db in
            try db.execute(
                sql: """
                    -- Ready-made messages (mensaje) and the WhatsApp templates registered with Meta (whatsapp).
                    CREATE TABLE templates (
                        id INTEGER PRIMARY KEY,
                        kind TEXT NOT NULL CHECK (kind IN ('mensaje', 'whatsapp')),
                        name TEXT NOT NULL,
                        language TEXT NOT NULL,
                        category TEXT NOT NULL,
                        body TEXT NOT NULL,
                        status TEXT NOT NULL
                            CHECK (status IN ('pending', 'approved', 'rejected', 'paused', 'disabled')),
                        created_at DATETIME NOT NULL,
                        updated_at DATETIME NOT NULL,
                        UNIQUE (kind, name, language)
                    );
                    """)
        }
        migrator.registerMigration("v11: chat participants") { db in
            try db.execute(
                sql: """
                    -- Agents invited to (or joining) a chat besides the one it is assigned to: they read and write in
                    -- it; the assigned agent stays its owner.
                    CREATE TABLE ticket_participants (
                        ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
                        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
                        added_by INTEGER REFERENCES agents(id) ON DELETE SET NULL,
                        added_at DATETIME NOT NULL,
                        PRIMARY KEY (ticket_id, agent_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX ticket_participants_agent ON ticket_participants(agent_id);
                    """)
        }
        migrator.registerMigration("v12: intake details") { db in
            try db.execute(
                sql: """
                    -- What the intake read from the customer besides the device: its asset, inventory or serial
                    -- number, and where they are (department, branch, floor).
                    ALTER TABLE tickets ADD COLUMN asset_tag TEXT;
                    ALTER TABLE tickets ADD COLUMN location TEXT;
                    """)
        }
        migrator.registerMigration("v13: private notes") { db in
            try db.execute(
                sql: """
                    -- A technician's note on a ticket: a message of the timeline (role 'tecnico') that only agents
                    -- read. It never gets a delivery status, an event or a relay command; readers for customers
                    -- leave it out (`Messages.Audience`).
                    ALTER TABLE messages ADD COLUMN private BOOLEAN NOT NULL DEFAULT 0;
                    """)
        }
        migrator.registerMigration("v14: labels") { db in
            try db.execute(
                sql: """
                    -- Labels admins define and agents put on tickets (the category stays the classifier's).
                    CREATE TABLE labels (
                        id INTEGER PRIMARY KEY,
                        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                        color TEXT NOT NULL,
                        created_at DATETIME NOT NULL
                    );
                    CREATE TABLE ticket_labels (
                        ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
                        label_id INTEGER NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
                        added_by INTEGER REFERENCES agents(id) ON DELETE SET NULL,
                        added_at DATETIME NOT NULL,
                        PRIMARY KEY (ticket_id, label_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX ticket_labels_label ON ticket_labels(label_id, ticket_id);
                    """)
        }
        migrator.registerMigration("v15: audit log") { db in
            try db.execute(
                sql: """
                    -- Who did what and when (`AuditLog`); kept when the agent or ticket goes.
                    CREATE TABLE audit_log (
                        id INTEGER PRIMARY KEY,
                        at DATETIME NOT NULL,
                        action TEXT NOT NULL,
                        actor_agent_id INTEGER REFERENCES agents(id) ON DELETE SET NULL,
                        actor_name TEXT,
                        target_type TEXT,
                        target_id TEXT,
                        ticket_id INTEGER,
                        details TEXT,
                        address TEXT
                    );
                    CREATE INDEX audit_log_action ON audit_log(action, id);
                    CREATE INDEX audit_log_actor ON audit_log(actor_name COLLATE NOCASE, id);
                    CREATE INDEX audit_log_ticket ON audit_log(ticket_id, id) WHERE ticket_id IS NOT NULL;
                    """)
        }
        migrator.registerMigration("v16: outbound webhooks") { db in
            try db.execute(
                sql: """
                    -- Admins' outbound webhooks (`Webhooks`): `events` is a comma-separated list of event types.
                    CREATE TABLE webhooks (
                        id INTEGER PRIMARY KEY,
                        url TEXT NOT NULL,
                        events TEXT NOT NULL,
                        secret TEXT NOT NULL,
                        description TEXT,
                        active BOOLEAN NOT NULL DEFAULT 1,
                        created_at DATETIME NOT NULL,
                        last_attempt_at DATETIME,
                        last_status INTEGER,
                        last_error TEXT,
                        last_success_at DATETIME
                    );
                    -- One row per webhook and event: how many attempts, the last answer, when it was delivered.
                    CREATE TABLE webhook_deliveries (
                        webhook_id INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
                        event_id TEXT NOT NULL,
                        event_type TEXT NOT NULL,
                        attempts INTEGER NOT NULL,
                        last_status INTEGER,
                        last_error TEXT,
                        delivered_at DATETIME,
                        updated_at DATETIME NOT NULL,
                        PRIMARY KEY (webhook_id, event_id)
                    ) WITHOUT ROWID;
                    CREATE INDEX webhook_deliveries_recent ON webhook_deliveries(webhook_id, updated_at);
                    """)
        }
        migrator.registerMigration("v17: auto-assignment") { db in
            try db.execute(
                sql: """
                    -- Settings admins change from the panel (`AppSettings`): one JSON value per key.
                    CREATE TABLE app_settings (
                        key TEXT PRIMARY KEY,
                        value TEXT NOT NULL,
                        updated_at DATETIME NOT NULL
                    ) WITHOUT ROWID;
                    -- Round robin: the agent auto-assigned longest ago goes first.
                    ALTER TABLE agents ADD COLUMN last_auto_assigned_at DATETIME;
                    CREATE INDEX tickets_assigned_open ON tickets(assigned_agent_id, status);
                    """)
        }
        migrator.registerMigration("v18: two-factor authentication") { db in
            try db.execute(
                sql: """
                    -- TOTP (RFC 6238): the confirmed secret, one waiting for its first code, the last step used.
                    ALTER TABLE agents ADD COLUMN totp_secret TEXT;
                    ALTER TABLE agents ADD COLUMN totp_pending_secret TEXT;
                    ALTER TABLE agents ADD COLUMN totp_enabled_at DATETIME;
                    ALTER TABLE agents ADD COLUMN totp_last_step INTEGER;
                    ALTER TABLE agents ADD COLUMN two_factor_required BOOLEAN NOT NULL DEFAULT 0;
                    CREATE TABLE recovery_codes (
                        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
                        code_hash TEXT NOT NULL,
                        used_at DATETIME,
                        PRIMARY KEY (agent_id, code_hash)
                    ) WITHOUT ROWID;
                    -- What an agent who must enrol gets at login instead of a session.
                    CREATE TABLE two_factor_setups (
                        token_hash TEXT PRIMARY KEY,
                        agent_id INTEGER NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
                        expires_at DATETIME NOT NULL
                    ) WITHOUT ROWID;
                    """)
        }
        migrator.registerMigration("v19: SLA policies") { db in
            try db.execute(
                sql: """
                    -- Service-level targets (`SLAPolicies`) and the breaches already announced, once each.
                    CREATE TABLE sla_policies (
                        id INTEGER PRIMARY KEY,
                        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
                        category TEXT CHECK (category IN ('Hardware', 'Software')),
                        label_id INTEGER REFERENCES labels(id) ON DELETE CASCADE,
                        first_response_minutes INTEGER,
                        resolution_minutes INTEGER,
                        created_at DATETIME NOT NULL
                    );
                    CREATE TABLE sla_breaches (
                        ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
                        kind TEXT NOT NULL CHECK (kind IN ('first_response', 'resolution')),
                        due_at DATETIME NOT NULL,
                        recorded_at DATETIME NOT NULL,
                        PRIMARY KEY (ticket_id, kind)
                    ) WITHOUT ROWID;
                    CREATE INDEX sla_breaches_due ON sla_breaches(due_at);
                    """)
        }
        migrator.registerMigration("v20: business hours") { db in
            try db.execute(
                sql: """
                    -- The first message came out of hours; the away message went (once per ticket).
                    ALTER TABLE tickets ADD COLUMN out_of_hours BOOLEAN NOT NULL DEFAULT 0;
                    ALTER TABLE tickets ADD COLUMN away_sent_at DATETIME;
                    """)
        }
        migrator.registerMigration("v21: satisfaction surveys") { db in
            try db.execute(
                sql: """
                    -- One survey per ticket (`Satisfaction`): asked when first resolved, answered once.
                    CREATE TABLE csat_surveys (
                        ticket_id INTEGER PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
                        agent_id INTEGER REFERENCES agents(id) ON DELETE SET NULL,
                        channel TEXT NOT NULL,
                        requested_at DATETIME NOT NULL,
                        rating INTEGER CHECK (rating BETWEEN 1 AND 5),
                        comment TEXT,
                        answered_at DATETIME
                    );
                    CREATE INDEX csat_surveys_answered ON csat_surveys(answered_at) WHERE rating IS NOT NULL;
                    """)
        }
        migrator.registerMigration("v22: the trace an outbox row belongs to") { db in
            // W3C `traceparent` of the request that wrote the row; the publisher sends it as an AMQP header.
            try db.execute(sql: "ALTER TABLE outbox ADD COLUMN traceparent TEXT")
        }
        migrator.registerMigration("v23: upload grants any instance can take") { db in
            try db.execute(
                sql: """
                    -- A grant given on one instance's WebSocket, taken (once) by whichever instance the file reaches.
                    CREATE TABLE upload_grants (
                        token_hash TEXT PRIMARY KEY,
                        ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
                        agent_id INTEGER REFERENCES agents(id) ON DELETE CASCADE, -- NULL: the ticket's web visitor
                        expires_at DATETIME NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX upload_grants_expiry ON upload_grants(expires_at);
                    """)
        }
        return migrator
    }
}
