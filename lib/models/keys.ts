export const modelKeys = {
  all: ['models'] as const,
  available: () => [...modelKeys.all, 'available'] as const,
  registry: () => [...modelKeys.all, 'registry'] as const,
};
