import { z } from 'zod';

/** The limits create_job enforces, checked in the form first so most mistakes never reach the server. */
export const PROMPT_MAX_LENGTH = 4000;
export const ASPECT_RATIOS = ['1:1', '3:4', '4:3', '9:16', '16:9'] as const;

export const createJobSchema = z.object({
  modelId: z.string().min(1, 'Choose a model'),
  prompt: z
    .string()
    .trim()
    .min(1, 'Describe the image you want')
    .max(PROMPT_MAX_LENGTH, `The prompt is too long: the limit is ${PROMPT_MAX_LENGTH} characters`),
  aspectRatio: z.enum(ASPECT_RATIOS),
  numberOfImages: z.coerce.number().int().min(1).max(4),
});

export type CreateJobInput = z.infer<typeof createJobSchema>;

/** What the job will cost: the model's price times the number of images, as create_job charges. */
export function jobCost(creditsPerJob: number, numberOfImages: number): number {
  return creditsPerJob * numberOfImages;
}
