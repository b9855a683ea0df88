/**
 * The models the stand-in serves, shaped like the generativelanguage `Model` resource. Image
 * models answer with a PNG; text models with text only and refuse the IMAGE modality, as the
 * real API does, so a model registry entry pointing at the wrong kind of model fails in tests.
 */
export interface StandInModel {
  name: string;
  baseModelId: string;
  version: string;
  displayName: string;
  description: string;
  inputTokenLimit: number;
  outputTokenLimit: number;
  supportedGenerationMethods: string[];
  temperature: number;
  topP: number;
  topK?: number;
  maxTemperature: number;
  thinking?: boolean;
}

export interface ModelEntry {
  resource: StandInModel;
  /** Output modalities the model can produce. */
  modalities: ReadonlyArray<'TEXT' | 'IMAGE'>;
  /** Tokens billed per generated image (Gemini's published figures). */
  imageTokens: number;
}

const GENERATE = ['generateContent', 'countTokens', 'batchGenerateContent'];

function entry(
  id: string,
  displayName: string,
  description: string,
  extra: Partial<StandInModel> & { modalities: ModelEntry['modalities']; imageTokens?: number },
): ModelEntry {
  const { modalities, imageTokens = 0, ...overrides } = extra;
  return {
    modalities,
    imageTokens,
    resource: {
      name: `models/${id}`,
      baseModelId: id,
      version: '001',
      displayName,
      description,
      inputTokenLimit: 32768,
      outputTokenLimit: 32768,
      supportedGenerationMethods: GENERATE,
      temperature: 1,
      topP: 0.95,
      topK: 64,
      maxTemperature: 2,
      ...overrides,
    },
  };
}

export const MODELS: ModelEntry[] = [
  entry('gemini-2.5-flash-image', 'Nano Banana', 'Gemini 2.5 Flash Image', {
    modalities: ['TEXT', 'IMAGE'],
    imageTokens: 1290,
  }),
  entry('gemini-2.5-flash-image-preview', 'Nano Banana (preview)', 'Gemini 2.5 Flash Image Preview', {
    modalities: ['TEXT', 'IMAGE'],
    imageTokens: 1290,
    version: '2.0',
  }),
  entry('gemini-3-pro-image-preview', 'Nano Banana Pro', 'Gemini 3 Pro Image Preview', {
    modalities: ['TEXT', 'IMAGE'],
    imageTokens: 1120,
    inputTokenLimit: 131072,
    outputTokenLimit: 32768,
    version: '3.0',
    thinking: true,
  }),
  entry('gemini-2.5-flash', 'Gemini 2.5 Flash', 'Stable version of Gemini 2.5 Flash', {
    modalities: ['TEXT'],
    inputTokenLimit: 1048576,
    outputTokenLimit: 65536,
    thinking: true,
  }),
  entry('gemini-2.5-pro', 'Gemini 2.5 Pro', 'Stable release of Gemini 2.5 Pro', {
    modalities: ['TEXT'],
    inputTokenLimit: 1048576,
    outputTokenLimit: 65536,
    thinking: true,
  }),
  entry('gemini-2.0-flash', 'Gemini 2.0 Flash', 'Gemini 2.0 Flash', {
    modalities: ['TEXT'],
    inputTokenLimit: 1048576,
    outputTokenLimit: 8192,
    topK: 40,
  }),
];

const BY_ID = new Map(MODELS.map((m) => [m.resource.baseModelId, m]));

/** Looks a model up by id (`gemini-2.5-flash-image`) or resource name (`models/...`). */
export function findModel(idOrName: string): ModelEntry | undefined {
  return BY_ID.get(idOrName.replace(/^models\//, ''));
}
