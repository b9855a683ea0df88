'use client';

import { useBalance } from '@/lib/credits/balance-query';

export function CreditBalance({ userId }: { userId: string }) {
  const { data, isPending, isError } = useBalance(userId);
  return (
    <span className="balance" aria-live="polite">
      {isPending ? 'Credits: …' : isError ? 'Credits: unavailable' : `Credits: ${data}`}
    </span>
  );
}
