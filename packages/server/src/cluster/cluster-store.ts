import type { ConversationLease, ConversationStore } from '@ferry/sdk-core';
import type { DocumentStore } from '../settings/settings-backing';

/** Who holds a conversation's lease, as a {@link ClusterStore} reports it. */
export interface ClusterLeaseHolder {
  /** Where the holder answers requests, when it advertised one. */
  endpoint: string | undefined;
  /** Whether the lease is still in force. */
  live: boolean;
  /** Whether this process holds it. */
  mine: boolean;
}

/**
 * A store several server processes share (`PostgresStore` of `@ferry/store-postgres`): besides
 * the `ConversationStore` contract, it says who holds a lease and where that replica answers,
 * finds leases their holders lost the right to, and reports leases this process lost; it keeps
 * the documents every replica shares (the server's settings).
 */
export interface ClusterStore extends ConversationStore, DocumentStore {
  /** Records this replica's URL with every lease it takes from now on. */
  advertise(endpoint: string): void;
  /** Told about each lease of this process that another owner took over. */
  onLeaseLost(listener: (lease: ConversationLease) => void): () => void;
  /** The holder of the conversation's lease, or `undefined` when nobody holds it. */
  leaseHolder(conversationId: string): Promise<ClusterLeaseHolder | undefined>;
  /** Conversations whose lease expired, or whose holder on this host is gone. */
  staleLeases(): Promise<string[]>;
  /** Resolves once the database answers; rejects while it does not. */
  ping(): Promise<void>;
}
