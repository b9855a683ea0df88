import { HealthSkeleton } from '@/components/health/system-health';

export default function SystemHealthLoading() {
  return <HealthSkeleton />;
}
