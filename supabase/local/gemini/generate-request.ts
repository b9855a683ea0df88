import { invalidArgument } from './google-errors.ts';
import { ASPECT_RATIOS, IMAGE_SIZES } from './image.ts';
import type { ModelEntry } from './models.ts';

/**
 * Validation of a generateContent body as the SDK sends it (`contents`, `generationConfig`
 * with `responseModalities` and `imageConfig`, ...). The real API rejects a malformed request
 * with 400 INVALID_ARGUMENT before any work; doing the same here is what catches a worker that
 * builds the request wrongly, instead of letting it pass against a lenient fake.
 */
export interface GenerateRequest {
  /** All text parts, in order: what the picture is drawn from. */
  prompt: string;
  promptTokens: number;
  /** Output modalities asked for; undefined means the model's default. */
  modalities?: string[];
  aspectRatio?: string;
  imageSize?: string;
}

const TOP_LEVEL_FIELDS = new Set([
  'contents',
  'generationConfig',
  'safetySettings',
  'systemInstruction',
  'tools',
  'toolConfig',
  'cachedContent',
  'labels',
  'serviceTier',
  'model',
]);
const PART_DATA_FIELDS = [
  'text',
  'inlineData',
  'fileData',
  'functionCall',
  'functionResponse',
  'executableCode',
  'codeExecutionResult',
];
const MODALITIES = new Set(['TEXT', 'IMAGE', 'AUDIO']);

/** Tokens a text costs: about four characters each, as Google documents for Gemini. */
const textTokens = (text: string) => Math.ceil(text.length / 4);
/** Tokens an input image costs at the default media resolution. */
const INPUT_IMAGE_TOKENS = 258;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function parseGenerateRequest(body: unknown, model: ModelEntry): GenerateRequest {
  if (!isRecord(body)) throw invalidArgument('Invalid JSON payload received. Expected an object.');
  for (const key of Object.keys(body)) {
    if (!TOP_LEVEL_FIELDS.has(key)) throw invalidArgument(`Invalid JSON payload received. Unknown name "${key}": Cannot find field.`);
  }
  const { contents, generationConfig } = body;
  if (!Array.isArray(contents) || contents.length === 0) {
    throw invalidArgument('* GenerateContentRequest.contents: contents is not specified\n');
  }
  const texts: string[] = [];
  let promptTokens = 0;
  contents.forEach((content, i) => {
    const where = `GenerateContentRequest.contents[${i}]`;
    if (!isRecord(content)) throw invalidArgument(`* ${where}: must be an object\n`);
    if (content.role !== undefined && content.role !== 'user' && content.role !== 'model') {
      throw invalidArgument('Please use a valid role: user, model.');
    }
    if (!Array.isArray(content.parts) || content.parts.length === 0) {
      throw invalidArgument(`* ${where}.parts: contents.parts must not be empty.\n`);
    }
    content.parts.forEach((part: unknown, j: number) => {
      const partWhere = `${where}.parts[${j}]`;
      if (!isRecord(part) || !PART_DATA_FIELDS.some((f) => part[f] !== undefined)) {
        throw invalidArgument(`* ${partWhere}.data: required oneof field 'data' must have one initialized field\n`);
      }
      if (part.text !== undefined) {
        if (typeof part.text !== 'string') throw invalidArgument(`* ${partWhere}.text: must be a string\n`);
        texts.push(part.text);
        promptTokens += textTokens(part.text);
      }
      if (part.inlineData !== undefined) {
        const data = part.inlineData;
        if (!isRecord(data) || typeof data.mimeType !== 'string' || !data.mimeType) {
          throw invalidArgument(`* ${partWhere}.inline_data.mime_type: a mime type is required\n`);
        }
        if (typeof data.data !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(data.data)) {
          throw invalidArgument(`Invalid value at '${partWhere.replace('GenerateContentRequest.', '')}.inline_data.data' (TYPE_BYTES), Base64 decoding failed`);
        }
        promptTokens += INPUT_IMAGE_TOKENS;
      }
    });
  });

  const request: GenerateRequest = { prompt: texts.join('\n'), promptTokens };
  if (generationConfig !== undefined) {
    if (!isRecord(generationConfig)) throw invalidArgument('* GenerateContentRequest.generation_config: must be an object\n');
    const { responseModalities, imageConfig, candidateCount } = generationConfig;
    if (responseModalities !== undefined) {
      if (!Array.isArray(responseModalities)) {
        throw invalidArgument("Invalid value at 'generation_config.response_modalities': expected a list");
      }
      responseModalities.forEach((m: unknown, i: number) => {
        if (typeof m !== 'string' || !MODALITIES.has(m.toUpperCase())) {
          throw invalidArgument(
            `Invalid value at 'generation_config.response_modalities[${i}]' (type.googleapis.com/google.ai.generativelanguage.v1beta.GenerationConfig.Modality), ${JSON.stringify(m)}`,
          );
        }
      });
      request.modalities = responseModalities.map((m: string) => m.toUpperCase());
      const unsupported = request.modalities.filter((m) => !(model.modalities as readonly string[]).includes(m));
      if (unsupported.length > 0) {
        throw invalidArgument(`Model does not support the requested response modalities: ${unsupported.map((m) => m.toLowerCase()).join(',')}`);
      }
    }
    if (candidateCount !== undefined && candidateCount !== 1 && model.modalities.includes('IMAGE')) {
      throw invalidArgument(`Multiple candidates is not enabled for ${model.resource.name}`);
    }
    if (imageConfig !== undefined) {
      if (!isRecord(imageConfig)) throw invalidArgument('* GenerateContentRequest.generation_config.image_config: must be an object\n');
      if (!model.modalities.includes('IMAGE')) {
        throw invalidArgument(`Image config is not supported for ${model.resource.name}`);
      }
      const { aspectRatio, imageSize } = imageConfig;
      if (aspectRatio !== undefined) {
        if (typeof aspectRatio !== 'string' || !ASPECT_RATIOS.includes(aspectRatio)) {
          throw invalidArgument(`* GenerateContentRequest.generation_config.image_config.aspect_ratio: Unsupported aspect ratio ${JSON.stringify(aspectRatio)}; supported: ${ASPECT_RATIOS.join(', ')}\n`);
        }
        request.aspectRatio = aspectRatio;
      }
      if (imageSize !== undefined) {
        if (typeof imageSize !== 'string' || !IMAGE_SIZES.includes(imageSize)) {
          throw invalidArgument(`* GenerateContentRequest.generation_config.image_config.image_size: Unsupported image size ${JSON.stringify(imageSize)}; supported: ${IMAGE_SIZES.join(', ')}\n`);
        }
        request.imageSize = imageSize;
      }
    }
  }
  return request;
}
