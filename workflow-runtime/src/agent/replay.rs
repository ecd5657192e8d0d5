//! The tool loop of a durable run's step, recorded as it goes: each model turn's response and
//! each tool call's result, so that the step, run again after a crash or a failed attempt,
//! replays them instead of asking the model or running the tool again.
//!
//! A conversation's key is the agent's name and a hash of the request it started from (so a
//! step whose code asks something else after the crash does not get another conversation's
//! answers), told apart from the same conversation earlier in the step; its turns are
//! numbered from 1, and the calls of a turn by their position and id.

use super::stream::Turn;
use super::Agent;
use crate::id::fnv1a;
use crate::provider::{ChatRequest, ChatResponse, Message, ToolCall};
use crate::scope::{Memo, Scope};
use crate::Error;

/// Where one tool loop records its turns and calls: `None` outside a durable run.
pub(super) struct Replay {
    memo: Memo,
    conversation: String,
}

impl Replay {
    /// The records of the tool loop `agent` runs for `request`, if the current future
    /// belongs to a durable run.
    pub(super) fn start(agent: &str, request: &ChatRequest) -> Option<Self> {
        let memo = Scope::memo()?;
        let hash = serde_json::to_vec(request).map_or(0, |json| fnv1a(&json));
        let conversation = memo.key(&format!("{agent}:{hash:032x}"));
        Some(Replay { memo, conversation })
    }

    /// Records `response` as model turn number `turn`.
    pub(super) async fn record_turn(
        &self,
        turn: u32,
        response: &ChatResponse,
    ) -> Result<(), Error> {
        self.memo.remember(self.turn(turn), response).await
    }

    fn turn(&self, turn: u32) -> String {
        format!("{}/turn{turn}", self.conversation)
    }

    fn call(&self, turn: u32, index: usize, call: &ToolCall) -> String {
        format!("{}/turn{turn}/call{index}:{}", self.conversation, call.id)
    }
}

impl Agent {
    /// Model turn number `turn` of a tool loop: the recorded response if `replay` has one
    /// (nothing is asked, nothing accounted), else the model's, recorded.
    pub(super) async fn take_turn(
        &self,
        request: ChatRequest,
        replay: Option<&Replay>,
        turn: u32,
    ) -> Result<ChatResponse, Error> {
        let Some(replay) = replay else {
            return self.chat(request).await;
        };
        let key = replay.turn(turn);
        if let Some(response) = replay.memo.recall(&key).await? {
            return Ok(response);
        }
        let response = self.chat(request).await?;
        replay.memo.remember(key, &response).await?;
        Ok(response)
    }

    /// Streams model turn number `turn` of a tool loop: replayed from its record if `replay`
    /// has one (nothing is asked, nothing accounted), else asked of the model (the caller
    /// records it once it has streamed: [`Replay::record_turn`]).
    pub(super) async fn stream_turn(
        &self,
        request: ChatRequest,
        replay: Option<&Replay>,
        turn: u32,
    ) -> Result<Turn, Error> {
        if let Some(replay) = replay {
            if let Some(response) = replay.memo.recall(&replay.turn(turn)).await? {
                return Ok(Turn::replayed(response));
            }
        }
        self.start_stream(request).await
    }

    /// The message with the result of `call`, call number `index` of turn `turn`: the
    /// recorded one if `replay` has it (the tool does not run, and no event tells of it),
    /// else the tool's, recorded. A handoff is not recorded: it runs nothing. A call that
    /// needs approval runs only once it is decided ([`Agent::decided_call`]); outside a
    /// durable run it does not run.
    pub(super) async fn replay_call(
        &self,
        call: &ToolCall,
        replay: Option<&Replay>,
        (turn, index): (u32, usize),
    ) -> Result<Message, Error> {
        let replay = replay.filter(|_| super::handoff::find(self, &call.name).is_none());
        let needs_approval = self.needs_approval(&call.name);
        let Some(replay) = replay else {
            return Ok(match needs_approval {
                true => Agent::unapproved(call),
                false => self.run_call(call).await,
            });
        };
        let key = replay.call(turn, index, call);
        if let Some(message) = replay.memo.recall(&key).await? {
            return Ok(message);
        }
        let message = match needs_approval {
            true => self.decided_call(call, &replay.memo, &key).await?,
            false => self.run_call(call).await,
        };
        replay.memo.remember(key, &message).await?;
        Ok(message)
    }
}

#[cfg(test)]
mod tests {
    use crate::id::fnv1a;

    #[test]
    fn the_hash_is_fnv1a_128() {
        // The published test vectors of FNV-1a, 128 bits.
        assert_eq!(fnv1a(b""), 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d);
        assert_eq!(fnv1a(b"a"), 0xd228_cb69_6f1a_8caf_7891_2b70_4e4a_8964);
    }
}
