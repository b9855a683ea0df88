'use client';

import { useState } from 'react';
import { ReasonDialog } from '@/components/audit/reason-dialog';
import { ErrorPanel } from '@/components/jobs/error-panel';
import { RowActions, RowActionsHeader } from '@/components/tables/row-actions';
import { TableScroll } from '@/components/tables/table-scroll';
import type { AlertChannel } from '@/lib/alerts/alert-schemas';
import { useAlertChannels } from '@/lib/alerts/alert-channels-query';
import {
  channelFormSchema,
  generateSigningSecret,
  useCreateAlertChannel,
  useDeleteAlertChannel,
  useSendTestAlert,
  useUpdateAlertChannel,
} from '@/lib/alerts/channel-mutations';
import type { AppRole } from '@/lib/auth/roles';
import { fieldText, FormDialog } from './form-dialog';

type Dialog = { kind: 'create' } | { kind: 'edit'; channel: AlertChannel } | { kind: 'delete'; channel: AlertChannel };

/**
 * Where alerts go outward. Support sees the channels (URL and secret as hints only); admins add,
 * change, test and delete them. A URL or secret is written once and never shown again.
 */
export function AlertChannelsPanel({ role }: { role: AppRole }) {
  const channels = useAlertChannels();
  const test = useSendTestAlert();
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const canEdit = role === 'admin';
  if (channels.isPending) return <div className="skeleton" style={{ height: '8rem' }} aria-busy="true" aria-label="Loading the channels" />;
  if (channels.isError) return <ErrorPanel title="The channels could not be loaded" error={channels.error} onRetry={() => void channels.refetch()} />;
  return (
    <div className="card stack">
      {channels.data.length === 0 ? (
        <p className="muted">No channel yet: incidents show in the console only.</p>
      ) : (
        <TableScroll label="Alert channels">
          <table className="data-table" aria-label="Alert channels">
            <thead>
              <tr>
                <th scope="col">Channel</th>
                <th scope="col">Kind</th>
                <th scope="col">URL</th>
                <th scope="col">Signing secret</th>
                <th scope="col">Receives</th>
                {canEdit && <RowActionsHeader />}
              </tr>
            </thead>
            <tbody>
              {channels.data.map((c) => (
                <tr key={c.id}>
                  <th scope="row">
                    {c.name}
                    {!c.enabled && <div className="muted">disabled</div>}
                  </th>
                  <td>{c.kind === 'slack' ? 'Slack' : 'Signed webhook'}</td>
                  <td className="mono">{c.url_hint}</td>
                  <td className="mono">{c.secret_hint ?? '—'}</td>
                  <td>{c.min_severity === 'critical' ? 'critical only' : 'critical and warning'}</td>
                  {canEdit && (
                    <RowActions>
                      <button type="button" aria-label={`Send test message: ${c.name}`} disabled={test.isPending} onClick={() => test.mutate(c.id)}>
                        Send test message
                      </button>
                      <button type="button" aria-label={`Edit: ${c.name}`} onClick={() => setDialog({ kind: 'edit', channel: c })}>
                        Edit
                      </button>
                      <button type="button" aria-label={`Delete: ${c.name}`} onClick={() => setDialog({ kind: 'delete', channel: c })}>
                        Delete
                      </button>
                    </RowActions>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      {test.isSuccess && (
        <p className="notice notice-ok" role="status">
          Test message queued; the delivery log below shows how it went.
        </p>
      )}
      {test.isError && (
        <p className="notice notice-error" role="alert">
          {test.error.message}
        </p>
      )}
      {canEdit && (
        <div>
          <button type="button" onClick={() => setDialog({ kind: 'create' })}>
            Add channel
          </button>
        </div>
      )}
      {dialog?.kind === 'create' && <CreateChannelDialog onClose={() => setDialog(null)} />}
      {dialog?.kind === 'edit' && <EditChannelDialog channel={dialog.channel} onClose={() => setDialog(null)} />}
      {dialog?.kind === 'delete' && <DeleteChannelDialog channel={dialog.channel} onClose={() => setDialog(null)} />}
    </div>
  );
}

/** The signing secret field with a generator: the admin copies it into the receiver, then saves. */
function SecretField({ label, required }: { label: string; required: boolean }) {
  const [secret, setSecret] = useState('');
  return (
    <>
      <label htmlFor="channel-secret">{label}</label>
      <div className="row">
        <input id="channel-secret" name="signingSecret" className="mono" autoComplete="off" spellCheck={false} value={secret} onChange={(e) => setSecret(e.target.value)} required={required} />
        <button type="button" onClick={() => setSecret(generateSigningSecret())}>
          Generate
        </button>
      </div>
      <p className="muted">Copy it into your receiver now: once saved it is never shown again, here or anywhere.</p>
    </>
  );
}

function CreateChannelDialog({ onClose }: { onClose: () => void }) {
  const mutation = useCreateAlertChannel();
  const [kind, setKind] = useState<'slack' | 'webhook'>('slack');
  const [invalid, setInvalid] = useState<string | null>(null);
  const submit = (data: FormData) => {
    const parsed = channelFormSchema.safeParse({
      name: fieldText(data, 'name') ?? '',
      kind,
      url: fieldText(data, 'url') ?? '',
      signingSecret: fieldText(data, 'signingSecret'),
      minSeverity: fieldText(data, 'minSeverity'),
      reason: fieldText(data, 'reason') ?? '',
    });
    if (!parsed.success) {
      setInvalid(parsed.error.issues[0]?.message ?? 'Check the form');
      return;
    }
    setInvalid(null);
    mutation.mutate(parsed.data);
  };
  return (
    <FormDialog
      title="Add a channel"
      description="Slack: an incoming webhook URL from your Slack app. Signed webhook: any https endpoint; every message carries an HMAC-SHA256 signature it can verify."
      submitLabel="Save channel"
      pending={mutation.isPending}
      error={invalid ?? mutation.error?.message ?? null}
      done={mutation.isSuccess ? <p className="notice notice-ok" role="status">Saved. Send it a test message to check it.</p> : undefined}
      onSubmit={submit}
      onClose={onClose}
    >
      <label htmlFor="channel-name">Name</label>
      <input id="channel-name" name="name" maxLength={100} required />
      <label htmlFor="channel-kind">Kind</label>
      <select id="channel-kind" value={kind} onChange={(e) => setKind(e.target.value as 'slack' | 'webhook')}>
        <option value="slack">Slack incoming webhook</option>
        <option value="webhook">Signed webhook (JSON)</option>
      </select>
      <label htmlFor="channel-url">URL</label>
      <input id="channel-url" name="url" type="url" className="mono" autoComplete="off" spellCheck={false} required />
      {kind === 'webhook' && <SecretField label="Signing secret (32+ characters)" required />}
      <label htmlFor="channel-severity">Send</label>
      <select id="channel-severity" name="minSeverity" defaultValue="warning">
        <option value="warning">critical and warning incidents</option>
        <option value="critical">critical incidents only</option>
      </select>
    </FormDialog>
  );
}

function EditChannelDialog({ channel, onClose }: { channel: AlertChannel; onClose: () => void }) {
  const mutation = useUpdateAlertChannel();
  return (
    <FormDialog
      title={`Edit: ${channel.name}`}
      description="Leave the URL and secret empty to keep the ones saved."
      submitLabel="Save"
      pending={mutation.isPending}
      error={mutation.error?.message ?? null}
      done={mutation.isSuccess ? <p className="notice notice-ok" role="status">Saved.</p> : undefined}
      onSubmit={(data) =>
        mutation.mutate({
          channelId: channel.id,
          reason: fieldText(data, 'reason') ?? '',
          name: fieldText(data, 'name'),
          enabled: data.get('enabled') === 'on',
          minSeverity: fieldText(data, 'minSeverity'),
          url: fieldText(data, 'url'),
          signingSecret: fieldText(data, 'signingSecret'),
        })
      }
      onClose={onClose}
    >
      <label htmlFor="channel-name">Name</label>
      <input id="channel-name" name="name" maxLength={100} defaultValue={channel.name} required />
      <label className="inline-check">
        <input type="checkbox" name="enabled" defaultChecked={channel.enabled} /> Enabled
      </label>
      <label htmlFor="channel-severity">Send</label>
      <select id="channel-severity" name="minSeverity" defaultValue={channel.min_severity}>
        <option value="warning">critical and warning incidents</option>
        <option value="critical">critical incidents only</option>
      </select>
      <label htmlFor="channel-url">New URL (now {channel.url_hint})</label>
      <input id="channel-url" name="url" type="url" className="mono" autoComplete="off" spellCheck={false} />
      {channel.kind === 'webhook' && <SecretField label={`New signing secret (now ${channel.secret_hint ?? 'none'})`} required={false} />}
    </FormDialog>
  );
}

function DeleteChannelDialog({ channel, onClose }: { channel: AlertChannel; onClose: () => void }) {
  const mutation = useDeleteAlertChannel();
  return (
    <ReasonDialog
      title={`Delete: ${channel.name}?`}
      description="Its URL and secret are erased; its past messages stay in the delivery log, and messages still waiting for it are not sent."
      confirmLabel="Delete"
      pending={mutation.isPending}
      error={mutation.error?.message ?? null}
      result={mutation.isSuccess ? <p className="notice notice-ok" role="status">Deleted.</p> : undefined}
      onConfirm={(reason) => mutation.mutate({ channelId: channel.id, reason })}
      onClose={onClose}
    />
  );
}
