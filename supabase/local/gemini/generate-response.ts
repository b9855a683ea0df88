import { randomBytes } from 'node:crypto';
import type { Outcome } from './faults.ts';
import type { GenerateRequest } from './generate-request.ts';
import { imageDimensions, promptImage } from './image.ts';
import type { ModelEntry } from './models.ts';

/**
 * The 200 answers of generateContent, one per outcome, shaped as Gemini's
 * GenerateContentResponse. The failure shapes are the ones seen from the real API on image
 * models: a prompt blocked outright (promptFeedback, no candidates), an image withheld after
 * generation (finishReason IMAGE_SAFETY), text instead of an image, and an empty answer.
 */
export type SuccessOutcome = Extract<Outcome, 'ok' | 'blocked' | 'imageSafety' | 'noImage' | 'noCandidates' | 'malformed'>;

const SAFETY_CATEGORIES = [
  'HARM_CATEGORY_SEXUALLY_EXPLICIT',
  'HARM_CATEGORY_HATE_SPEECH',
  'HARM_CATEGORY_HARASSMENT',
  'HARM_CATEGORY_DANGEROUS_CONTENT',
];

function safetyRatings(flagged?: string) {
  return SAFETY_CATEGORIES.map((category) => ({
    category,
    probability: category === flagged ? 'HIGH' : 'NEGLIGIBLE',
    ...(category === flagged ? { blocked: true } : {}),
  }));
}

/** Gemini's response ids are 22-ish url-safe characters; only uniqueness matters here. */
export const newResponseId = () => randomBytes(16).toString('base64url').slice(0, 22);

export interface BuiltResponse {
  /** The body, already serialised: `malformed` must be able to send broken JSON. */
  text: string;
  /** For stats and tests: the PNG served, if any. */
  imageBytes?: number;
}

/**
 * `imageSize` stands in for a request that names none: the stand-in's test control for
 * benchmarks and the memory check, which need 2K and 4K answers from a worker that asks for
 * the model's default size.
 */
export function buildGenerateResponse(outcome: SuccessOutcome, model: ModelEntry, request: GenerateRequest, imageSize?: string): BuiltResponse {
  const responseId = newResponseId();
  const modelVersion = model.resource.baseModelId;
  const promptTokenCount = request.promptTokens;
  const wantsImage = model.modalities.includes('IMAGE') && (request.modalities?.includes('IMAGE') ?? true);
  const wantsText = request.modalities?.includes('TEXT') ?? true;
  const usage = (candidatesTokenCount: number, modality: 'TEXT' | 'IMAGE' = 'TEXT') => ({
    promptTokenCount,
    ...(candidatesTokenCount > 0 ? { candidatesTokenCount } : {}),
    totalTokenCount: promptTokenCount + candidatesTokenCount,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: promptTokenCount }],
    ...(candidatesTokenCount > 0 ? { candidatesTokensDetails: [{ modality, tokenCount: candidatesTokenCount }] } : {}),
  });
  const json = (body: Record<string, unknown>, imageBytes?: number): BuiltResponse => ({
    text: JSON.stringify({ ...body, modelVersion, responseId }),
    imageBytes,
  });

  switch (outcome) {
    case 'ok': {
      const parts: Array<Record<string, unknown>> = [];
      let candidatesTokenCount = 0;
      let imageBytes: number | undefined;
      if (wantsText || !wantsImage) {
        const text = wantsImage
          ? `Here is the image you asked for: ${request.prompt.slice(0, 120)}`
          : `This is the local Gemini stand-in answering: ${request.prompt.slice(0, 200)}`;
        parts.push({ text });
        candidatesTokenCount += Math.ceil(text.length / 4);
      }
      if (wantsImage) {
        const requestedSize = request.imageSize ?? imageSize;
        const size = imageDimensions(model.resource.baseModelId, request.aspectRatio, requestedSize)!;
        const image = promptImage(request.prompt, size.width, size.height);
        imageBytes = image.bytes;
        parts.push({ inlineData: { mimeType: 'image/png', data: image.base64 } });
        candidatesTokenCount += requestedSize === '4K' ? model.imageTokens * 2 : model.imageTokens;
      }
      return json(
        {
          candidates: [{ content: { parts, role: 'model' }, finishReason: 'STOP', index: 0 }],
          usageMetadata: usage(candidatesTokenCount, wantsImage ? 'IMAGE' : 'TEXT'),
        },
        imageBytes,
      );
    }
    case 'blocked':
      return json({
        promptFeedback: { blockReason: 'SAFETY', safetyRatings: safetyRatings('HARM_CATEGORY_DANGEROUS_CONTENT') },
        usageMetadata: usage(0),
      });
    case 'imageSafety':
      return json({
        candidates: [
          {
            content: { role: 'model' },
            finishReason: 'IMAGE_SAFETY',
            finishMessage: 'Unable to show the generated image. The image was filtered out because it violated Google\'s Generative AI Prohibited Use policy.',
            index: 0,
          },
        ],
        usageMetadata: usage(0),
      });
    case 'noImage': {
      const text = "I'm unable to create that image. Could you describe it differently?";
      return json({
        candidates: [{ content: { parts: [{ text }], role: 'model' }, finishReason: 'STOP', index: 0 }],
        usageMetadata: usage(Math.ceil(text.length / 4)),
      });
    }
    case 'noCandidates':
      return json({ usageMetadata: usage(0) });
    case 'malformed':
      // A body cut mid-stream, as a proxy dropping the connection's tail would leave it.
      return { text: `{"candidates": [{"content": {"parts": [{"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgoAAAANSUhEUgAA` };
  }
}
