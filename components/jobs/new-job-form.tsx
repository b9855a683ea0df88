'use client';

import { useRouter } from 'next/navigation';
import { useState, type FormEvent } from 'react';
import { useBalance } from '@/lib/credits/balance-query';
import { ASPECT_RATIOS, createJobSchema, jobCost, PROMPT_MAX_LENGTH } from '@/lib/jobs/create-job-schema';
import { JobActionError } from '@/lib/jobs/create-job-mutation';
import { useCreateJobMutation } from '@/lib/jobs/use-create-job-mutation';
import { useModels } from '@/lib/models/models-query';

export function NewJobForm({ userId }: { userId: string }) {
  const router = useRouter();
  const models = useModels();
  const balance = useBalance(userId);
  const createJob = useCreateJobMutation();
  const selectable = (models.data ?? []).filter((m) => m.enabled);
  const [modelId, setModelId] = useState<string>('');
  const [numberOfImages, setNumberOfImages] = useState(1);
  const [prompt, setPrompt] = useState('');
  const [error, setError] = useState<string | null>(null);

  const chosenId = modelId || selectable[0]?.id || '';
  const chosen = selectable.find((m) => m.id === chosenId);
  const cost = chosen ? jobCost(chosen.credits_per_job, numberOfImages) : null;
  const short = cost !== null && balance.data !== undefined && balance.data < cost;

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const parsed = createJobSchema.safeParse({
      modelId: chosenId,
      prompt: form.get('prompt'),
      aspectRatio: form.get('aspectRatio'),
      numberOfImages: form.get('numberOfImages'),
    });
    if (!parsed.success) {
      setError(parsed.error.issues[0]?.message ?? 'Check the form');
      return;
    }
    setError(null);
    try {
      const job = await createJob.mutateAsync(parsed.data);
      router.push(`/jobs/${job.id}`);
    } catch (e) {
      setError(e instanceof JobActionError ? e.view.message : e instanceof Error ? e.message : 'The job could not be created');
    }
  }

  if (models.isError) return <p role="alert">The models could not be loaded: {models.error.message}</p>;

  return (
    <form onSubmit={onSubmit} noValidate className="stack" aria-describedby={error ? 'new-job-error' : undefined}>
      <label htmlFor="prompt">Prompt</label>
      <textarea
        id="prompt"
        name="prompt"
        rows={4}
        value={prompt}
        onChange={(e) => setPrompt(e.target.value)}
        aria-describedby="prompt-count"
      />
      <span id="prompt-count" className={prompt.length > PROMPT_MAX_LENGTH ? 'error-text' : 'muted'}>
        {prompt.length} / {PROMPT_MAX_LENGTH} characters
      </span>

      <label htmlFor="model">Model</label>
      <select id="model" name="model" value={chosenId} onChange={(e) => setModelId(e.target.value)} disabled={models.isPending}>
        {(models.data ?? []).map((m) => (
          <option key={m.id} value={m.id} disabled={!m.enabled}>
            {m.display_name} — {m.credits_per_job} credit{m.credits_per_job === 1 ? '' : 's'}
            {m.enabled ? (m.paused ? ' (paused: jobs wait)' : '') : ' (disabled)'}
          </option>
        ))}
      </select>

      <div className="row">
        <div className="stack">
          <label htmlFor="aspectRatio">Size</label>
          <select id="aspectRatio" name="aspectRatio" defaultValue="1:1">
            {ASPECT_RATIOS.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
        <div className="stack">
          <label htmlFor="numberOfImages">Images</label>
          <select
            id="numberOfImages"
            name="numberOfImages"
            value={numberOfImages}
            onChange={(e) => setNumberOfImages(Number(e.target.value))}
          >
            {[1, 2, 3, 4].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
      </div>

      <p aria-live="polite">
        {cost === null ? 'Choose a model to see the cost.' : `Cost: ${cost} credit${cost === 1 ? '' : 's'}`}
        {short ? <span className="error-text"> — more than your balance of {balance.data}</span> : null}
      </p>

      {error ? (
        <p id="new-job-error" role="alert" className="error-text">
          {error}
        </p>
      ) : null}
      <button type="submit" disabled={createJob.isPending || !chosen}>
        {createJob.isPending ? 'Creating…' : 'Generate'}
      </button>
    </form>
  );
}
