import type { HealthWindow } from './health-window';

export const metricsKeys = {
  all: ['metrics'] as const,
  health: () => [...metricsKeys.all, 'health'] as const,
  healthWindow: (window: HealthWindow) => [...metricsKeys.health(), window] as const,
};
