export { canonicalConversationId as canonicalId } from '../store/conversation-id';
